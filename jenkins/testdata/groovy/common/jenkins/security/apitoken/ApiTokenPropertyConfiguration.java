package jenkins.security.apitoken;

import standin.Fixture;

/** Stand-in for the global API token configuration. */
public class ApiTokenPropertyConfiguration {
    private static final ApiTokenPropertyConfiguration INSTANCE =
            new ApiTokenPropertyConfiguration();

    public static ApiTokenPropertyConfiguration get() {
        return INSTANCE;
    }

    public boolean isUsageStatisticsEnabled() {
        return Fixture.statsEnabled;
    }
}
