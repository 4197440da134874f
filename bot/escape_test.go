package bot

import (
	"strings"
	"testing"
)

func TestEsc(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"deploy", "deploy"},
		{"<!channel> & <@U1>", "&lt;!channel&gt; &amp; &lt;@U1&gt;"},
		{"ping @here and @Channel", "ping @" + zwsp + "here and @" + zwsp + "Channel"},
		{"alice@example.com", "alice@example.com"},
		{"<https://evil|click>", "&lt;https://evil|click&gt;"},
	}
	for _, tt := range tests {
		if got := esc(tt.in); got != tt.want {
			t.Errorf("esc(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEsc(f *testing.F) {
	f.Add("<!here> @everyone <@U1|x> &amp;")
	f.Fuzz(func(t *testing.T, s string) {
		got := esc(s)
		if strings.ContainsAny(got, "<>") {
			t.Fatalf("esc(%q) = %q keeps a control character", s, got)
		}
		low := strings.ToLower(got)
		for _, w := range []string{"@here", "@channel", "@everyone"} {
			if strings.Contains(low, w) {
				t.Fatalf("esc(%q) = %q keeps %s", s, got, w)
			}
		}
	})
}
