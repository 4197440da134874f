package jenkins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Health is the result of Preflight for one controller.
type Health struct {
	Controller string
	Account    string
	// Version is the controller's X-Jenkins header, empty if unknown.
	Version string
	// Usable is true when the account is authenticated as itself and holds
	// Overall/Administer.
	Usable bool
	// Problem says in words an administrator can act on what is wrong;
	// empty when Usable.
	Problem string
	// Err is the underlying error, nil when Usable.
	Err error
}

type wireWhoAmI struct {
	Anonymous *bool  `json:"anonymous"`
	Name      string `json:"name"`
}

// Preflight checks that the controller answers, that the token
// authenticates the configured user (GET /whoAmI/api/json; the anonymous
// field, not authenticated, decides), and that the account can use the
// Script Console, which proves Overall/Administer (the preflight script).
// It never returns an error: the outcome is in Health.
func (c *Client) Preflight(ctx context.Context) Health {
	h := Health{Controller: c.name, Account: c.user}
	problem, err := c.whoAmI(ctx, &h)
	if err == nil {
		problem, err = c.checkScriptConsole(ctx)
	}
	if err != nil {
		h.Problem, h.Err = problem, fmt.Errorf("preflight %s: %w", c.name, err)
		return h
	}
	h.Usable = true
	return h
}

func (c *Client) whoAmI(ctx context.Context, h *Health) (string, error) {
	r, err := c.call(ctx, "whoami", http.MethodGet, "/whoAmI/api/json", "", nil)
	if err != nil {
		return c.describe(err), err
	}
	h.Version = r.header.Get("X-Jenkins")
	var w wireWhoAmI
	if isHTML(r) {
		return c.describe(ErrLoginPage), ErrLoginPage
	}
	if err := json.Unmarshal(r.body, &w); err != nil || w.Anonymous == nil {
		err = fmt.Errorf("decode whoAmI: unexpected answer %q", excerpt(r.body))
		return "the controller's whoAmI answer is not Jenkins JSON: check the URL", err
	}
	if *w.Anonymous {
		return fmt.Sprintf("the controller treats %s as anonymous: check the "+
			"user and token in the configuration", c.user), errors.New("anonymous")
	}
	if !sameID(w.Name, c.user) {
		return fmt.Sprintf("the API token belongs to %s, not %s: configure the "+
			"token of %s", w.Name, c.user, c.user), fmt.Errorf("token of %s", w.Name)
	}
	return "", nil
}

func (c *Client) checkScriptConsole(ctx context.Context) (string, error) {
	out, err := c.scriptText(ctx, "preflight", "")
	if err == nil {
		err = parsePreflight(out)
	}
	if err != nil {
		return c.describe(err), err
	}
	return "", nil
}

// describe turns a request error into words an administrator can act on.
func (c *Client) describe(err error) string {
	var se *ScriptError
	switch {
	case errors.Is(err, ErrUnauthorized):
		return fmt.Sprintf("the API token for %s was refused (401): create a "+
			"new token and update the configuration", c.user)
	case errors.Is(err, ErrForbidden):
		return fmt.Sprintf("%s lacks Overall/Administer: grant it, or use an "+
			"administrator account", c.user)
	case errors.Is(err, ErrLoginPage):
		return "the controller answered with an HTML page (a login page or a " +
			"proxy?): check the URL and any SSO proxy in front of Jenkins"
	case errors.Is(err, ErrNotFound):
		return "the controller answered 404: check the URL (include any " +
			"path prefix such as /jenkins)"
	case errors.As(err, &se):
		return "the Script Console did not run the bot's script: " + se.Error()
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return fmt.Sprintf("the controller answered %d: check its logs", he.Status)
	}
	return "unreachable: " + err.Error()
}
