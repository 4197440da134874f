package hudson.tasks;

/** Stand-in for the mailer plugin's hudson.tasks.Mailer. */
public class Mailer {
    /** Stand-in for Mailer.UserProperty, the per-user e-mail address. */
    public static class UserProperty extends hudson.model.UserProperty {
        private final String emailAddress;

        public UserProperty(String emailAddress) {
            this.emailAddress = emailAddress;
        }

        /** Resolves an address when none is configured; the bot must not use it. */
        public String getAddress() {
            throw new IllegalStateException("stand-in: getAddress may guess an address");
        }

        public String getExplicitlyConfiguredAddress() {
            if (emailAddress == null || emailAddress.trim().isEmpty()) {
                return null;
            }
            return emailAddress.trim();
        }

        public boolean hasExplicitlyConfiguredAddress() {
            return getExplicitlyConfiguredAddress() != null;
        }
    }
}
