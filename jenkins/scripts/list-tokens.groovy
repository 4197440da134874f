// jenkins-tokens-bot:list-tokens v1
// Prints one line of JSON describing one user's API tokens. Read-only: it
// looks the user up without creating it and changes nothing.
import groovy.json.JsonOutput
import hudson.model.User
// TODO: on a controller without the mailer plugin, Mailer does not resolve and
// the whole listing fails; load it reflectively once a test covers that case.
import hudson.tasks.Mailer
import jenkins.security.ApiTokenProperty
import jenkins.security.apitoken.ApiTokenPropertyConfiguration

def argB64 = '@ARG@'
def userId = new String(java.util.Base64.decoder.decode(argB64), 'UTF-8')

// Token expiry exists from Jenkins 2.548 on; older stores lack the methods.
def has = { Object o, String method -> !o.metaClass.respondsTo(o, method).isEmpty() }

def tokenJson = { t, prop, boolean statsOn ->
    def stats = statsOn ? prop.getTokenStats().findTokenStatsById(t.getUuid()) : null
    def expires = has(t, 'getExpirationDate') ? t.getExpirationDate() : null
    [
        uuid    : t.getUuid(),
        name    : t.getName(),
        legacy  : t.isLegacy(),
        created : t.getCreationDate()?.getTime(),
        useCount: stats == null ? 0 : stats.getUseCounter(),
        lastUsed: stats?.getLastUseDate()?.getTime(),
        expires : expires?.toString(),
        expired : has(t, 'isExpired') ? t.isExpired() : false,
    ]
}

def result
def user = User.getById(userId, false)
if (user == null) {
    result = [found: false]
} else {
    def statsOn = ApiTokenPropertyConfiguration.get().isUsageStatisticsEnabled()
    def prop = user.getProperty(ApiTokenProperty)
    def tokens = []
    if (prop != null) {
        for (t in prop.getTokenStore().getTokenListSortedByName()) {
            tokens << tokenJson(t, prop, statsOn)
        }
    }
    result = [
        found          : true,
        user           : [
            id      : user.getId(),
            fullName: user.getFullName(),
            email   : user.getProperty(Mailer.UserProperty)?.getExplicitlyConfiguredAddress(),
        ],
        statsEnabled   : statsOn,
        hasLegacySecret: prop != null && prop.hasLegacyToken(),
        tokens         : tokens,
    ]
}

println(JsonOutput.toJson(result))
return null
