// Runs scripts against the Jenkins stand-ins the way Jenkins' Script Console
// (RemotingDiagnostics) does, one fresh GroovyShell per case.
//
// Usage: groovy -cp <stand-ins> runner.groovy <cases.json> <results.json>
// cases.json:   {"cases":[{"name":..,"script":..,"fixture":{..}}]}
// results.json: {"results":[{"name":..,"output":..,"lookups":[..],"calls":[..]}]}
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import hudson.model.User
import hudson.tasks.Mailer
import jenkins.security.ApiTokenProperty
import jenkins.security.apitoken.ApiTokenStats
import jenkins.security.apitoken.ApiTokenStore
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import standin.Fixture

def date(Object ms) {
    ms == null ? null : new Date(ms as long)
}

def buildUser(Map f) {
    def store = new ApiTokenStore()
    for (t in (f.tokens ?: [])) {
        def expires = t.expires == null ? null : java.time.LocalDate.parse(t.expires)
        store.standinAdd(new ApiTokenStore.HashedToken(
                t.uuid, t.name, date(t.created), t.legacy as boolean, expires))
    }
    def stats = new ApiTokenStats()
    for (s in (f.stats ?: [])) {
        stats.standinAdd(s.uuid, s.useCount as int, date(s.lastUsed))
    }
    def props = []
    if (!f.noTokenProperty) {
        props << new ApiTokenProperty(f.legacySecret ? 'seed' : null, store, stats)
    }
    if (!f.noMailer) {
        props << new Mailer.UserProperty(f.email)
    }
    new User(f.id, f.fullName, props)
}

// run mirrors RemotingDiagnostics.Script.call in Jenkins core.
def run(String script) {
    def imports = new ImportCustomizer()
    imports.addStarImports('jenkins', 'jenkins.model', 'hudson', 'hudson.model')
    def config = new CompilerConfiguration()
    config.addCompilationCustomizers(imports)
    def sw = new StringWriter()
    def pw = new PrintWriter(sw)
    def shell = new GroovyShell(this.class.classLoader, new Binding(), config)
    shell.setVariable('out', pw)
    try {
        def output = shell.evaluate(script)
        if (output != null) {
            pw.println('Result: ' + output)
        }
    } catch (Throwable t) {
        t.printStackTrace(pw)
    }
    pw.flush()
    sw.toString()
}

def cases = new JsonSlurper().parse(new File(args[0]), 'UTF-8').cases
def results = []
for (c in cases) {
    Fixture.reset()
    Fixture.statsEnabled = c.fixture.statsEnabled as boolean
    for (u in (c.fixture.users ?: [])) {
        Fixture.USERS << buildUser(u)
    }
    def out = run(c.script)
    results << [name: c.name, output: out,
                lookups: new ArrayList(Fixture.LOOKUPS), calls: new ArrayList(Fixture.CALLS)]
}
new File(args[1]).write(JsonOutput.toJson([results: results]), 'UTF-8')
