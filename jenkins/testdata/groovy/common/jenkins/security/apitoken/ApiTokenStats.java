package jenkins.security.apitoken;

import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/** Stand-in for ApiTokenStats: per-token usage, hidden while statistics are off. */
public class ApiTokenStats {
    private final List<SingleTokenStats> tokenStats = new ArrayList<>();

    /** Not in Jenkins: the fixture adds recorded usage with it. */
    public void standinAdd(String uuid, int useCounter, Date lastUseDate) {
        SingleTokenStats s = new SingleTokenStats(uuid);
        s.useCounter = useCounter;
        s.lastUseDate = lastUseDate;
        tokenStats.add(s);
    }

    public synchronized SingleTokenStats findTokenStatsById(String tokenUuid) {
        if (!ApiTokenPropertyConfiguration.get().isUsageStatisticsEnabled()) {
            return new SingleTokenStats(tokenUuid);
        }
        for (SingleTokenStats s : tokenStats) {
            if (s.tokenUuid.equals(tokenUuid)) {
                return s;
            }
        }
        return new SingleTokenStats(tokenUuid);
    }

    /** Stand-in for ApiTokenStats.SingleTokenStats. */
    public static class SingleTokenStats {
        private final String tokenUuid;
        private Date lastUseDate;
        private Integer useCounter;

        private SingleTokenStats(String tokenUuid) {
            this.tokenUuid = tokenUuid;
        }

        public String getTokenUuid() {
            return tokenUuid;
        }

        public int getUseCounter() {
            return useCounter == null ? 0 : useCounter;
        }

        public Date getLastUseDate() {
            return lastUseDate;
        }
    }
}
