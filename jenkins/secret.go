package jenkins

import "log/slog"

const redacted = "[redacted]"

// Secret holds a Jenkins API token. Every way of printing it (fmt verbs,
// slog, JSON) shows [redacted]; only Reveal returns the value. The zero
// Secret is empty. A Secret is immutable and safe for concurrent use.
type Secret struct {
	value string
}

// NewSecret wraps an API token value.
func NewSecret(value string) Secret {
	return Secret{value: value}
}

// Reveal returns the token value. The client calls it once per request to
// set the Authorization header; nothing else should.
func (s Secret) Reveal() string {
	return s.value
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool {
	return s.value == ""
}

// String returns [redacted].
func (s Secret) String() string {
	return redacted
}

// GoString returns [redacted], so %#v hides the value too.
func (s Secret) GoString() string {
	return redacted
}

// LogValue returns [redacted] for log/slog.
func (s Secret) LogValue() slog.Value {
	return slog.StringValue(redacted)
}

// MarshalJSON encodes the secret as the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + redacted + `"`), nil
}

// MarshalText returns [redacted], for encoders that use encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) {
	return []byte(redacted), nil
}
