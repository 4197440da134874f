package bot

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// escaper replaces the three characters Slack treats as control characters.
// Escaping them turns <!channel>, <!here> and <@U…> in user-provided text into
// literal text.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// specialRE finds the special mentions written as plain words, and any
// word they begin. A zero-width space after the '@' keeps them words even
// where Slack parses text for mentions.
var specialRE = regexp.MustCompile(`(?i)@(here|channel|everyone)`)

const zwsp = "\u200b"

// esc makes user-provided text safe to place in mrkdwn: no mention, special
// mention or link can come out of it.
func esc(s string) string {
	s = escaper.Replace(s)
	return specialRE.ReplaceAllString(s, "@"+zwsp+"$1")
}

// unescape reverses Slack's entity escaping of inbound text.
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
