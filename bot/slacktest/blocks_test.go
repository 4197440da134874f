package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func section(text string) string {
	return fmt.Sprintf(`{"type":"section","text":{"type":"mrkdwn","text":%q}}`, text)
}

func buttonJSON(actionID, text, value, extra string) string {
	return fmt.Sprintf(`{"type":"button","action_id":%q,"text":{"type":"plain_text",`+
		`"text":%q},"value":%q%s}`, actionID, text, value, extra)
}

func actions(els ...string) string {
	return `{"type":"actions","elements":[` + strings.Join(els, ",") + `]}`
}

func repeatJSON(s string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = s
	}
	return strings.Join(parts, ",")
}

func TestValidateBlocks(t *testing.T) {
	x := strings.Repeat
	field := `{"type":"mrkdwn","text":"f"}`
	confirm := func(deny string) string {
		return `,"confirm":{"title":{"type":"plain_text","text":"Sure?"},` +
			`"text":{"type":"plain_text","text":"Really"},` +
			`"confirm":{"type":"plain_text","text":"Yes"}` + deny + `}`
	}
	denyOK := `,"deny":{"type":"plain_text","text":"No"}`
	tests := []struct {
		name    string
		blocks  string
		wantErr bool
	}{
		{"valid", section("hi") + "," + actions(buttonJSON("a", "Go", "v", "")), false},
		{"not json", `{`, true},
		{"empty section text", section(""), true},
		{"section 3000", section(x("é", 3000)), false},
		{"section 3001", section(x("x", 3001)), true},
		{"section without text or fields", `{"type":"section"}`, true},
		{"10 fields", `{"type":"section","fields":[` + repeatJSON(field, 10) + `]}`, false},
		{"11 fields", `{"type":"section","fields":[` + repeatJSON(field, 11) + `]}`, true},
		{"field 2001", `{"type":"section","fields":[{"type":"mrkdwn","text":"` +
			x("x", 2001) + `"}]}`, true},
		{"25 buttons", actions(buttonsN(25)...), false},
		{"26 buttons", actions(buttonsN(26)...), true},
		{"11 context elements", `{"type":"context","elements":[` +
			repeatJSON(field, 11) + `]}`, true},
		{"header 151", `{"type":"header","text":{"type":"plain_text","text":"` +
			x("h", 151) + `"}}`, true},
		{"header mrkdwn", `{"type":"header","text":{"type":"mrkdwn","text":"h"}}`, true},
		{"button text 76", actions(buttonJSON("a", x("b", 76), "v", "")), true},
		{"button value 2001", actions(buttonJSON("a", "b", x("v", 2001), "")), true},
		{"action_id 256", actions(buttonJSON(x("a", 256), "b", "v", "")), true},
		{"block_id 256", `{"type":"divider","block_id":"` + x("b", 256) + `"}`, true},
		{"duplicate block_id", `{"type":"divider","block_id":"d"},` +
			`{"type":"divider","block_id":"d"}`, true},
		{"duplicate action_id", actions(buttonJSON("a", "b", "", ""),
			buttonJSON("a", "c", "", "")), true},
		{"confirm complete", actions(buttonJSON("a", "b", "", confirm(denyOK))), false},
		{"confirm without deny", actions(buttonJSON("a", "b", "", confirm(""))), true},
		{"confirm deny 31", actions(buttonJSON("a", "b", "", confirm(
			`,"deny":{"type":"plain_text","text":"`+x("n", 31)+`"}`))), true},
		{"unknown block type", `{"type":"banner"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateBlocks("["+tt.blocks+"]", maxMessageBlocks)
			if (err != nil) != tt.wantErr {
				t.Errorf("validateBlocks() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func buttonsN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = buttonJSON(fmt.Sprint("a", i), "b", "", "")
	}
	return out
}

func TestPlainText(t *testing.T) {
	blocks := `[{"type":"header","text":{"type":"plain_text","text":"Tokens"}},` +
		`{"type":"divider"},` + section("*alice*: 2") + `,` +
		`{"type":"context","elements":[{"type":"mrkdwn","text":"on ci"}]},` +
		actions(buttonJSON("a", "Revoke", "", ""), buttonJSON("b", "Cancel", "", "")) + `]`
	got := Message{Text: "fallback", Blocks: json.RawMessage(blocks)}.PlainText()
	want := "Tokens\n---\n*alice*: 2\non ci\n[Revoke] [Cancel]"
	if got != want {
		t.Errorf("PlainText() = %q, want %q", got, want)
	}
	if got := (Message{Text: "only text"}).PlainText(); got != "only text" {
		t.Errorf("PlainText() without blocks = %q", got)
	}
}

func TestTimestampsAreUniqueAndMonotonic(t *testing.T) {
	fake := New(t)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	prev := ""
	for range 1000 {
		ts := fake.nextTS()
		if len(ts) != 17 || ts <= prev {
			t.Fatalf("ts %q after %q, want a larger <unix>.<6 digits>", ts, prev)
		}
		prev = ts
	}
}
