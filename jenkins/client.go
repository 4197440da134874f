package jenkins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds one HTTP request when Config.Timeout is zero.
	DefaultTimeout = 30 * time.Second
	// DefaultUserAgent is sent when Config.UserAgent is empty.
	DefaultUserAgent = "jenkins-tokens-bot"
	// maxBody caps every response body the client reads.
	maxBody = 4 << 20
	// revokeConcurrency bounds concurrent revoke calls per controller.
	revokeConcurrency = 8
)

// Config describes one Jenkins controller and the account the bot uses on
// it. The account needs Overall/Administer.
type Config struct {
	// Name identifies the controller in results and messages; unique in a Fleet.
	Name string
	// URL is the controller's root URL, e.g. https://ci.example.com/jenkins.
	URL string
	// User is the bot's Jenkins user id.
	User string
	// Token is the bot's API token (never a password: password logins need
	// CSRF crumbs and sessions).
	Token Secret
	// Timeout bounds each HTTP request; zero means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient is optional. It must not have a cookie jar: a Jenkins
	// session cookie switches off the CSRF exemption of API-token calls.
	// The client copies it and never follows redirects.
	HTTPClient *http.Client `json:"-"`
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
	// Observe, when set, is called after every HTTP call with the operation
	// ("whoami", "lookup_user", "list-tokens", "find-by-email", "preflight",
	// "revoke", "end_sessions"), its duration and its error. It must be safe
	// for concurrent use. Metrics hang on it; the package itself does not log.
	Observe func(op string, d time.Duration, err error) `json:"-"`
}

// Client talks to one Jenkins controller. It is safe for concurrent use.
type Client struct {
	name  string
	base  string
	user  string
	token Secret
	ua    string
	hc    *http.Client
	// revokeSlots limits concurrent revoke calls on this controller.
	revokeSlots chan struct{}
	observe     func(op string, d time.Duration, err error)
}

// NewClient validates cfg and returns a client. All problems found in cfg
// are reported together; no request is sent.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configure jenkins controller %q: %w", cfg.Name, err)
	}
	c := &Client{
		name:        cfg.Name,
		base:        strings.TrimRight(cfg.URL, "/"),
		user:        cfg.User,
		token:       cfg.Token,
		ua:          cfg.UserAgent,
		revokeSlots: make(chan struct{}, revokeConcurrency),
		observe:     cfg.Observe,
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	c.hc = httpClient(cfg)
	return c, nil
}

func (cfg Config) validate() error {
	var errs []error
	if strings.TrimSpace(cfg.Name) == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	errs = append(errs, validateURL(cfg.URL))
	if strings.TrimSpace(cfg.User) == "" {
		errs = append(errs, errors.New("user is empty"))
	}
	if cfg.Token.IsZero() {
		errs = append(errs, errors.New("api token is empty"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", cfg.Timeout))
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Jar != nil {
		errs = append(errs, errors.New("http client has a cookie jar"))
	}
	if strings.ContainsAny(cfg.UserAgent, "\r\n") {
		errs = append(errs, errors.New("user agent contains a line break"))
	}
	return errors.Join(errs...)
}

// validateURL never echoes the URL: it might carry a password.
func validateURL(raw string) error {
	if raw == "" {
		return errors.New("url is empty")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("url does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("url scheme is not http or https")
	case u.Host == "":
		return errors.New("url has no host")
	case u.User != nil:
		return errors.New("url contains credentials; use user and token")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("url has a query or fragment")
	}
	return nil
}

func httpClient(cfg Config) *http.Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   revokeConcurrency * 2,
			ForceAttemptHTTP2:     true,
		}
	}
	hc.Timeout = timeout
	hc.Jar = nil
	hc.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &hc
}

// Name returns the controller's configured name.
func (c *Client) Name() string { return c.name }

// User returns the bot's account on this controller.
func (c *Client) User() string { return c.user }

// String names the controller and account; it never shows the token.
func (c *Client) String() string {
	return fmt.Sprintf("jenkins %s (%s as %s)", c.name, c.base, c.user)
}

// response is a fully read answer with a 2xx status.
type response struct {
	header http.Header
	body   []byte
}

// call sends one request. path must already be escaped; form, if not nil,
// is sent as a urlencoded POST body. Non-2xx answers become *HTTPError;
// failures without an answer are retryable where IsRetryable says so.
func (c *Client) call(ctx context.Context, op, method, path, query string,
	form url.Values) (r *response, err error) {
	if c.observe != nil {
		defer func(start time.Time) { c.observe(op, time.Since(start), err) }(time.Now())
	}
	req, err := c.newRequest(ctx, method, path, query, form)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, newTransportError(err))
	}
	body, err := readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, responseError(method, path, resp, body)
	}
	return &response{header: resp.Header, body: body}, nil
}

func (c *Client) newRequest(ctx context.Context, method, path, query string,
	form url.Values) (*http.Request, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	target := c.base + path
	if query != "" {
		target += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		// The URL holds no secret, but keep the error short and path-only.
		return nil, fmt.Errorf("build request %s %s: invalid url", method, path)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.1")
	req.SetBasicAuth(c.user, c.token.Reveal())
	return req, nil
}

// readBody reads at most maxBody bytes, then drains a little more and
// closes, so the connection can be reused.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, newTransportError(err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxBody)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return body, nil
}

// isHTML reports whether a 200 answer is an HTML page.
func isHTML(r *response) bool {
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return true
	}
	return strings.HasPrefix(strings.TrimSpace(string(r.body)), "<")
}

// scriptText runs one of the bot's scripts through POST /scriptText and
// returns what it printed.
func (c *Client) scriptText(ctx context.Context, name, arg string) (string, error) {
	form := url.Values{"script": {renderScript(name, arg)}}
	r, err := c.call(ctx, name, http.MethodPost, "/scriptText", "", form)
	if err != nil {
		return "", err
	}
	if isHTML(r) {
		return "", fmt.Errorf("POST /scriptText: %w", ErrLoginPage)
	}
	return string(r.body), nil
}
