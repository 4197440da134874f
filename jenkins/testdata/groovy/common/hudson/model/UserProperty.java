package hudson.model;

/** Stand-in for hudson.model.UserProperty: a property attached to a User. */
public abstract class UserProperty {
    protected transient User user;

    protected void setUser(User u) {
        this.user = u;
    }
}
