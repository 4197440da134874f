package hudson.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import standin.Fixture;

/**
 * Stand-in for hudson.model.User with the members the scripts may use.
 * Ids compare case-insensitively, as under Jenkins' default IdStrategy.
 */
public class User {
    private final String id;
    private volatile String fullName;
    private final List<UserProperty> properties = new ArrayList<>();

    /** Not in Jenkins: the fixture builds users with it. */
    public User(String id, String fullName, List<UserProperty> props) {
        this.id = id;
        this.fullName = fullName;
        for (UserProperty p : props) {
            p.setUser(this);
            properties.add(p);
        }
    }

    public String getId() {
        return id;
    }

    public String getFullName() {
        return fullName;
    }

    public <T extends UserProperty> T getProperty(Class<T> clazz) {
        for (UserProperty p : properties) {
            if (clazz.isInstance(p)) {
                return clazz.cast(p);
            }
        }
        return null;
    }

    /** Returns the user with this id, or null; creates nothing when create is false. */
    public static User getById(String id, boolean create) {
        Fixture.call("User.getById");
        Fixture.LOOKUPS.add(id);
        if (create) {
            throw new IllegalStateException("stand-in: getById(id, true) would create a user");
        }
        for (User u : Fixture.USERS) {
            if (key(u.id).equals(key(id))) {
                return u;
            }
        }
        return null;
    }

    /** Jenkins sorts these by id; the stand-in keeps fixture order on purpose. */
    public static Collection<User> getAll() {
        Fixture.call("User.getAll");
        return new ArrayList<>(Fixture.USERS);
    }

    /** Deprecated in Jenkins: creates users and matches full names. */
    @Deprecated
    public static User get(String idOrFullName) {
        throw new IllegalStateException("stand-in: User.get creates users; use getById");
    }

    /** Matches full names in Jenkins. */
    public static User get(String idOrFullName, boolean create, Map<?, ?> context) {
        throw new IllegalStateException("stand-in: User.get matches full names; use getById");
    }

    private static String key(String id) {
        return id.toLowerCase(Locale.ENGLISH);
    }
}
