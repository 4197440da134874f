// jenkins-tokens-bot:find-by-email v1
// Prints one line of JSON listing every user whose explicitly configured
// e-mail address equals the argument, ignoring case. Read-only.
import groovy.json.JsonOutput
import hudson.model.User
import hudson.tasks.Mailer

def argB64 = '@ARG@'
def email = new String(java.util.Base64.decoder.decode(argB64), 'UTF-8')

def users = []
for (u in User.getAll()) {
    def address = u.getProperty(Mailer.UserProperty)?.getExplicitlyConfiguredAddress()
    if (address != null && address.equalsIgnoreCase(email)) {
        users << [id: u.getId(), fullName: u.getFullName(), email: address]
    }
}
users.sort { a, b -> a.id <=> b.id }

println(JsonOutput.toJson([users: users]))
return null
