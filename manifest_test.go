package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// slackManifest is the part of manifest.yaml the bot depends on.
type slackManifest struct {
	Features struct {
		SlashCommands []struct {
			Command      string `yaml:"command"`
			Description  string `yaml:"description"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
		Shortcuts []struct {
			Name       string `yaml:"name"`
			Type       string `yaml:"type"`
			CallbackID string `yaml:"callback_id"`
		} `yaml:"shortcuts"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot  []string `yaml:"bot"`
			User []string `yaml:"user"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			BotEvents []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled bool `yaml:"is_enabled"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

// usedScopes are the bot scopes the code needs; a scope outside this list
// is one more permission an administrator must approve for nothing.
var usedScopes = []string{
	"commands", "chat:write", "users:read", "users:read.email", "usergroups:read",
	"app_mentions:read", "channels:history", "groups:history",
}

func TestManifest(t *testing.T) {
	t.Parallel()
	var m slackManifest
	decodeYAMLFile(t, "manifest.yaml", &m)

	if len(m.Features.SlashCommands) != 1 {
		t.Fatalf("%d slash commands, want 1", len(m.Features.SlashCommands))
	}
	sc := m.Features.SlashCommands[0]
	if sc.Command != "/jenkins-tokens" || !sc.ShouldEscape || sc.Description == "" ||
		sc.UsageHint == "" {
		t.Errorf("slash command = %+v, want /jenkins-tokens, should_escape, "+
			"a description and a usage hint", sc)
	}
	if len(m.Features.Shortcuts) != 1 || m.Features.Shortcuts[0].CallbackID != "jenkins_tokens" ||
		m.Features.Shortcuts[0].Type != "message" {
		t.Errorf("shortcuts = %+v, want one message shortcut jenkins_tokens",
			m.Features.Shortcuts)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactivity.Enabled {
		t.Errorf("socket_mode_enabled = %v, interactivity = %v, want both true",
			m.Settings.SocketMode, m.Settings.Interactivity.Enabled)
	}
	for _, s := range m.OAuth.Scopes.Bot {
		if !slices.Contains(usedScopes, s) {
			t.Errorf("bot scope %q is not used by the bot", s)
		}
	}
	if diff := cmp.Diff(usedScopes, m.OAuth.Scopes.Bot); diff != "" {
		t.Errorf("bot scopes (-used +manifest):\n%s", diff)
	}
	if len(m.OAuth.Scopes.User) != 0 {
		t.Errorf("user scopes %v, want none: the bot acts as itself", m.OAuth.Scopes.User)
	}
	wantEvents := []string{"app_mention", "message.channels", "message.groups", "user_change"}
	if diff := cmp.Diff(wantEvents, m.Settings.Events.BotEvents); diff != "" {
		t.Errorf("bot events (-want +got):\n%s", diff)
	}
}

// TestDeployFilesParse decodes every YAML document of the deployment examples.
func TestDeployFilesParse(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"compose.yaml", "deploy/kubernetes.yaml"} {
		docs := decodeYAMLDocs(t, name)
		if len(docs) == 0 {
			t.Errorf("%s holds no YAML document", name)
		}
	}
}

func decodeYAMLFile(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

func decodeYAMLDocs(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("decode %s document %d: %v", name, len(docs)+1, err)
		}
		docs = append(docs, doc)
	}
}
