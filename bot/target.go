package bot

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
)

// TargetKind says how a person was named.
type TargetKind int

// The ways a person can be named in a command.
const (
	// JenkinsID is a Jenkins user id, used as it is on every controller.
	JenkinsID TargetKind = iota + 1
	// SlackUser is a Slack mention, resolved through the user's email.
	SlackUser
	// Email is an address matched against Jenkins users' Mailer address.
	Email
)

// Target is a person named in a command, before it is resolved to Jenkins
// users.
type Target struct {
	Kind TargetKind
	// Value is the Jenkins id, the Slack user id or the email address.
	Value string
}

// maxIDLen is the longest Jenkins id the bot accepts; the jenkins package
// refuses longer ones too.
const maxIDLen = 256

var (
	mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$`)
	mailtoRE  = regexp.MustCompile(`^<mailto:([^|>]+)(?:\|[^>]*)?>$`)
	// idRE allows what Jenkins security realms produce in practice: Jenkins'
	// own database allows [\w-], LDAP and SSO realms add dots, @ and spaces
	// are excluded here because a space separates words in a command.
	idRE = regexp.MustCompile(`^[\p{L}\p{N}_.\-@+]+$`)
)

var errEmptyTarget = errors.New("name a person: a Jenkins id, a Slack @mention or an email")

// ParseTarget reads one person from a word of a command. The word arrives as
// Slack sends it with should_escape on: mentions as <@U…> or <@U…|name>,
// emails as <mailto:…|…>, and &, <, > entity-escaped.
func ParseTarget(word string) (Target, error) {
	word = strings.TrimSpace(word)
	if word == "" {
		return Target{}, errEmptyTarget
	}
	if m := mentionRE.FindStringSubmatch(word); m != nil {
		return Target{Kind: SlackUser, Value: m[1]}, nil
	}
	if strings.HasPrefix(word, "<#") || strings.HasPrefix(word, "<!") {
		return Target{}, fmt.Errorf("%s is a channel or a group, not a person", esc(word))
	}
	if m := mailtoRE.FindStringSubmatch(word); m != nil {
		word = m[1]
	}
	word = unescape(word)
	return parsePlain(word)
}

func parsePlain(word string) (Target, error) {
	if len(word) > maxIDLen {
		return Target{}, fmt.Errorf("that name is %d characters long; Jenkins ids "+
			"and emails here are at most %d", len(word), maxIDLen)
	}
	for _, r := range word {
		if unicode.IsControl(r) {
			return Target{}, errors.New("that name contains a control character")
		}
	}
	if strings.Contains(word, "@") && !strings.HasPrefix(word, "@") {
		addr, err := mail.ParseAddress(word)
		if err != nil || addr.Address != word {
			return Target{}, fmt.Errorf("%s does not look like an email address", esc(word))
		}
		return Target{Kind: Email, Value: strings.ToLower(addr.Address)}, nil
	}
	if strings.HasPrefix(word, "@") {
		return Target{}, fmt.Errorf("%s is not a Slack mention I can read: pick the "+
			"person from Slack's @ menu so the name turns blue", esc(word))
	}
	if !idRE.MatchString(word) {
		return Target{}, fmt.Errorf("%s is not a Jenkins id: ids are letters, digits, "+
			"and . _ - + only", esc(word))
	}
	return Target{Kind: JenkinsID, Value: word}, nil
}

// String returns the target as a person would write it in Slack.
func (t Target) String() string {
	if t.Kind == SlackUser {
		return "<@" + t.Value + ">"
	}
	return t.Value
}
