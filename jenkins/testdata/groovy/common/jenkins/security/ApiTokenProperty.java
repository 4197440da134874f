package jenkins.security;

import hudson.model.UserProperty;
import jenkins.security.apitoken.ApiTokenStats;
import jenkins.security.apitoken.ApiTokenStore;

/** Stand-in for jenkins.security.ApiTokenProperty, read-only members only. */
public class ApiTokenProperty extends UserProperty {
    private final String apiToken;
    private final ApiTokenStore tokenStore;
    private final transient ApiTokenStats tokenStats;

    /** Not in Jenkins: the fixture builds properties with it. */
    public ApiTokenProperty(String apiToken, ApiTokenStore store, ApiTokenStats stats) {
        this.apiToken = apiToken;
        this.tokenStore = store;
        this.tokenStats = stats;
    }

    public boolean hasLegacyToken() {
        return apiToken != null;
    }

    public ApiTokenStore getTokenStore() {
        return tokenStore;
    }

    public ApiTokenStats getTokenStats() {
        return tokenStats;
    }
}
