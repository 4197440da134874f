package standin;

import hudson.model.User;
import java.util.ArrayList;
import java.util.List;

/**
 * Fixture holds the state the Jenkins stand-ins read and records what the
 * script under test asked them for. It is not part of Jenkins: the runner
 * fills it before each script and reads it afterwards.
 */
public final class Fixture {
    /** Users in the order User.getAll() returns them. */
    public static final List<User> USERS = new ArrayList<>();
    /** Every id passed to User.getById, in call order. */
    public static final List<String> LOOKUPS = new ArrayList<>();
    /** Every stand-in entry point the script called, in call order. */
    public static final List<String> CALLS = new ArrayList<>();
    /** ApiTokenPropertyConfiguration.usageStatisticsEnabled. */
    public static boolean statsEnabled = true;

    private Fixture() {
    }

    /** Reset empties the fixture before the next script. */
    public static void reset() {
        USERS.clear();
        LOOKUPS.clear();
        CALLS.clear();
        statsEnabled = true;
    }

    /** Call records that the script called a stand-in entry point. */
    public static void call(String what) {
        CALLS.add(what);
    }
}
