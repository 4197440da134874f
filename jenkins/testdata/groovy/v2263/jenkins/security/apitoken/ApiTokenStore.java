package jenkins.security.apitoken;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** Stand-in for ApiTokenStore as in Jenkins 2.263 to 2.547: no token expiry. */
public class ApiTokenStore {
    private static final Comparator<HashedToken> SORT_BY_LOWERCASED_NAME =
            Comparator.comparing(t -> t.getName().toLowerCase(Locale.ENGLISH));

    private final List<HashedToken> tokenList = new ArrayList<>();

    /** Not in Jenkins: the fixture adds tokens with it. */
    public void standinAdd(HashedToken token) {
        tokenList.add(token);
    }

    public synchronized Collection<HashedToken> getTokenListSortedByName() {
        return tokenList.stream()
                .sorted(SORT_BY_LOWERCASED_NAME)
                .collect(Collectors.toList());
    }

    /** Stand-in for ApiTokenStore.HashedToken. */
    public static class HashedToken {
        private String uuid;
        private String name;
        private java.util.Date creationDate;
        private boolean legacy;
        /**
         * Not in Jenkins: the fixture builds tokens with it. The expiration is
         * dropped by the flavour without token expiry.
         */
        public HashedToken(String uuid, String name, java.util.Date creationDate,
                boolean legacy, LocalDate expirationDate) {
            this.uuid = uuid;
            this.name = name;
            this.creationDate = creationDate;
            this.legacy = legacy;
        }

        public String getName() {
            return name;
        }

        public java.util.Date getCreationDate() {
            return creationDate;
        }

        public String getUuid() {
            return uuid;
        }

        public boolean isLegacy() {
            return legacy;
        }
    }
}
