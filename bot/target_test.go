package bot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Target
	}{
		{"alice", Target{Kind: JenkinsID, Value: "alice"}},
		{"alice.smith-2", Target{Kind: JenkinsID, Value: "alice.smith-2"}},
		{"<@U123ABC>", Target{Kind: SlackUser, Value: "U123ABC"}},
		{"<@W123ABC|alice>", Target{Kind: SlackUser, Value: "W123ABC"}},
		{"Alice@Example.com", Target{Kind: Email, Value: "alice@example.com"}},
		{"<mailto:alice@example.com|alice@example.com>",
			Target{Kind: Email, Value: "alice@example.com"}},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if err != nil {
			t.Errorf("ParseTarget(%q) error: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseTarget(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseTargetRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, wantWords string
	}{
		{"", "name a person"},
		{"<#C123|general>", "channel or a group"},
		{"<!channel>", "channel or a group"},
		{"@alice", "Slack mention"},
		{"al\x00ice", "control character"},
		{"al\nice", "control character"},
		{strings.Repeat("a", 257), "257 characters"},
		{"alice;rm", "not a Jenkins id"},
		{"a/b", "not a Jenkins id"},
		{"not@an@email", "does not look like an email"},
	}
	for _, tt := range tests {
		_, err := ParseTarget(tt.in)
		if err == nil {
			t.Errorf("ParseTarget(%q) accepted it", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantWords) {
			t.Errorf("ParseTarget(%q) = %q, want it to say %q", tt.in, err, tt.wantWords)
		}
	}
}

func TestParseTargetEscapesEcho(t *testing.T) {
	t.Parallel()
	_, err := ParseTarget("<!here>x")
	if err == nil || strings.Contains(err.Error(), "<!here>") {
		t.Fatalf("error %v echoes a special mention", err)
	}
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		wantKind string
		wantErr  bool
	}{
		{"", "help", false},
		{"help", "help", false},
		{"PENDING", "pending", false},
		{"audit alice", "audit", false},
		{"audit", "audit", true},
		{"alice", "list", false},
		{"alice bob", "list", true},
	}
	for _, tt := range tests {
		c := parseCommand(tt.in)
		if c.kind != tt.wantKind || (c.err != nil) != tt.wantErr {
			t.Errorf("parseCommand(%q) = kind %q err %v, want kind %q err %v",
				tt.in, c.kind, c.err, tt.wantKind, tt.wantErr)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"alice", "<@U1|x>", "a@b.c", "<mailto:a@b.c|a@b.c>",
		"<!channel>", "&lt;!here&gt;", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(tg.Value, "<>\x00\n") || len(tg.Value) > maxIDLen {
			t.Fatalf("ParseTarget(%q) accepted unsafe value %q", s, tg.Value)
		}
	})
}
