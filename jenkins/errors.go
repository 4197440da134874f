package jenkins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Sentinel errors. Callers test for them with errors.Is.
var (
	// ErrUnauthorized means Jenkins refused the credentials (401).
	ErrUnauthorized = errors.New("credentials refused")
	// ErrForbidden means the account lacks a permission (403).
	ErrForbidden = errors.New("permission denied")
	// ErrNotFound means the URL does not exist on the controller (404).
	ErrNotFound = errors.New("not found")
	// ErrRetryable marks failures worth trying again later: 5xx answers,
	// timeouts and broken connections. IsRetryable tests for it.
	ErrRetryable = errors.New("temporary failure")
	// ErrLoginPage means Jenkins answered 200 with an HTML page (usually its
	// login page) where JSON or script output was expected.
	ErrLoginPage = errors.New("got an html page instead of data (a login page?)")
	// ErrTooLarge means a response body exceeded the client's cap.
	ErrTooLarge = errors.New("response body too large")
	// ErrUserNotFound means the controller has no user with that id.
	ErrUserNotFound = errors.New("user not found")
	// ErrIDMismatch means Jenkins resolved the id to a different user (a
	// full-name match). It wraps ErrUserNotFound.
	ErrIDMismatch = fmt.Errorf("%w: jenkins resolved the id to another user", ErrUserNotFound)
	// ErrInvalidID means a user id was refused before any request was sent.
	ErrInvalidID = errors.New("invalid user id")
	// ErrSessionsDisabled means the controller runs with the user seed
	// feature disabled, so web sessions cannot be ended over HTTP.
	ErrSessionsDisabled = errors.New("session seed feature disabled")
	// ErrUnknownController means a name that is not in the Fleet.
	ErrUnknownController = errors.New("unknown controller")
)

const excerptLen = 300

// HTTPError is a non-2xx answer from Jenkins. It matches ErrUnauthorized,
// ErrForbidden, ErrNotFound and ErrRetryable (5xx) with errors.Is.
type HTTPError struct {
	Status int
	Method string
	// Path is the request path, without host or query.
	Path string
	// Excerpt is the start of the response body, cut to 300 bytes.
	Excerpt string
	// RequiredPermission is Jenkins' X-Required-Permission header on a 403,
	// e.g. hudson.model.Hudson.Administer.
	RequiredPermission string
}

// Error says method, path and status; it never contains the token.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d", e.Method, e.Path, e.Status)
	if e.RequiredPermission != "" {
		msg += " (requires " + e.RequiredPermission + ")"
	}
	return msg
}

// Is makes errors.Is match the status sentinels.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRetryable:
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	return false
}

// responseError turns a non-2xx response into an *HTTPError. body is the
// already read (capped) body.
func responseError(method, path string, resp *http.Response, body []byte) *HTTPError {
	return &HTTPError{
		Status:             resp.StatusCode,
		Method:             method,
		Path:               path,
		Excerpt:            excerpt(body),
		RequiredPermission: resp.Header.Get("X-Required-Permission"),
	}
}

func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > excerptLen {
		s = s[:excerptLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// transportError is a failure below HTTP: no answer at all.
type transportError struct {
	err       error
	retryable bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func (e *transportError) Is(target error) bool {
	return target == ErrRetryable && e.retryable
}

// newTransportError classifies a failed round trip. The *url.Error wrapper
// (which repeats the URL) is dropped; the caller adds the path.
func newTransportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transportError{err: err, retryable: retryable(err)}
}

func retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return true
	}
	return false
}

// IsRetryable reports whether err is worth retrying later: a 5xx or 429
// answer, a timeout, or a refused or reset connection. A cancelled context
// and every 4xx are not retryable.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrRetryable)
}
