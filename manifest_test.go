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

// TestCompose checks that compose.yaml runs the bot against its own Redis 7.
func TestCompose(t *testing.T) {
	t.Parallel()
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			EnvFile     string            `yaml:"env_file"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	decodeYAMLFile(t, "compose.yaml", &c)
	redis, bot := c.Services["redis"], c.Services["bot"]
	if redis.Image != "redis:7" {
		t.Errorf("redis image = %q, want redis:7", redis.Image)
	}
	if bot.Build != "." || bot.EnvFile != ".env" {
		t.Errorf("bot build = %q, env_file = %q, want . and .env", bot.Build, bot.EnvFile)
	}
	if got := bot.Environment["REDIS_URL"]; got != "redis://redis:6379/0" {
		t.Errorf("bot REDIS_URL = %q, want the redis service", got)
	}
}

// kubeDoc is the part of a Kubernetes object the example must get right.
type kubeDoc struct {
	Kind       string            `yaml:"kind"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas int `yaml:"replicas"`
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []struct {
					EnvFrom []struct {
						SecretRef struct {
							Name string `yaml:"name"`
						} `yaml:"secretRef"`
					} `yaml:"envFrom"`
					Liveness  kubeProbe `yaml:"livenessProbe"`
					Readiness kubeProbe `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type kubeProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// TestKubernetes checks the example's Secret and two-replica Deployment.
func TestKubernetes(t *testing.T) {
	t.Parallel()
	docs := decodeYAMLDocs(t, "deploy/kubernetes.yaml")
	if len(docs) != 2 || docs[0].Kind != "Secret" || docs[1].Kind != "Deployment" {
		t.Fatalf("documents = %d, want a Secret then a Deployment", len(docs))
	}
	for _, k := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "JENKINS_API_TOKEN"} {
		if docs[0].StringData[k] == "" {
			t.Errorf("Secret has no %s", k)
		}
	}
	d := docs[1].Spec
	if d.Replicas != 2 || !d.Template.Spec.SecurityContext.RunAsNonRoot ||
		len(d.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment = %+v, want 2 non-root replicas of one container", d)
	}
	c := d.Template.Spec.Containers[0]
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != "jenkins-tokens-bot" {
		t.Errorf("envFrom = %+v, want the Secret", c.EnvFrom)
	}
	got := []string{c.Liveness.HTTPGet.Path, c.Readiness.HTTPGet.Path}
	if diff := cmp.Diff([]string{"/healthz", "/readyz"}, got); diff != "" {
		t.Errorf("probe paths (-want +got):\n%s", diff)
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

func decodeYAMLDocs(t *testing.T, name string) []kubeDoc {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var docs []kubeDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc kubeDoc
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
