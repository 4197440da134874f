package slacktest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const waitTimeout = 3 * time.Second

// harness is a real slack-go Socket Mode client connected to a fake.
type harness struct {
	fake   *Server
	api    *slack.Client
	client *socketmode.Client
	events chan socketmode.Event
}

// newFake starts a fake with short ping interval and a seeded workspace:
// users alice, bob and UBOT; channel C1 ("ops") with all three as members.
func newFake(t *testing.T, opts ...Option) *Server {
	t.Helper()
	fake := New(t, append([]Option{WithPingInterval(50 * time.Millisecond)}, opts...)...)
	fake.AddUser(User{ID: "UALICE", Name: "alice", RealName: "Alice A",
		Email: "alice@example.com"})
	fake.AddUser(User{ID: "UBOB", Name: "bob", RealName: "Bob B", Email: "bob@example.com"})
	fake.AddChannel(Channel{ID: "C1", Name: "ops", Members: []string{"UALICE", "UBOB", "UBOT"}})
	return fake
}

// newAPI returns a slack-go Web API client for fake.
func newAPI(fake *Server) *slack.Client {
	return slack.New(fake.BotToken(),
		slack.OptionAppLevelToken(fake.AppToken()),
		slack.OptionAPIURL(fake.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 5 * time.Second}))
}

// connect runs a socketmode client against fake until the test ends and waits
// for its first hello.
func connect(t *testing.T, fake *Server) *harness {
	t.Helper()
	api := newAPI(fake)
	client := socketmode.New(api, socketmode.OptionPingInterval(2*time.Second))
	h := &harness{fake: fake, api: api, client: client,
		events: make(chan socketmode.Event, 100)}

	ctx := t.Context()
	done := make(chan struct{}, 2)
	go func() {
		_ = client.RunContext(ctx)
		done <- struct{}{}
	}()
	go func() {
		h.drain(ctx)
		done <- struct{}{}
	}()
	t.Cleanup(func() {
		<-done
		<-done
	})
	h.next(t, socketmode.EventTypeHello)
	return h
}

// drain forwards every Socket Mode event the client emits until ctx ends.
func (h *harness) drain(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-h.client.Events:
			h.events <- evt
		}
	}
}

// next returns the next event of type typ, skipping connection lifecycle events.
func (h *harness) next(t *testing.T, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case evt := <-h.events:
			switch evt.Type {
			case typ:
				return evt
			case socketmode.EventTypeConnecting, socketmode.EventTypeConnected,
				socketmode.EventTypeHello, socketmode.EventTypeIncomingError:
				continue
			}
			t.Fatalf("got %s event (%+v), want %s", evt.Type, evt.Data, typ)
		case <-timeout:
			t.Fatalf("no %s event within %v", typ, waitTimeout)
		}
	}
}

// ack acks evt with payload (nil for a bare ack) and waits until the fake has it.
func (h *harness) ack(t *testing.T, evt socketmode.Event, payload any) []byte {
	t.Helper()
	if payload == nil {
		h.client.Ack(*evt.Request)
	} else {
		h.client.Ack(*evt.Request, payload)
	}
	got, err := h.fake.WaitAck(evt.Request.EnvelopeID, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// post posts blocks to channel as the bot and returns the stored message.
func (h *harness) post(t *testing.T, channel string, blocks ...slack.Block) Message {
	t.Helper()
	_, ts, err := h.api.PostMessageContext(t.Context(), channel,
		slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		t.Fatalf("post message: %v", err)
	}
	m, found := h.fake.Message(channel, ts)
	if !found {
		t.Fatalf("posted message %s not stored", ts)
	}
	return m
}

func approveBlocks() []slack.Block {
	text := slack.NewTextBlockObject(slack.MarkdownType, "*alice* has 2 tokens", false, false)
	approve := slack.NewButtonBlockElement("approve", "req-1",
		slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
	deny := slack.NewButtonBlockElement("deny", "req-1",
		slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false))
	return []slack.Block{
		slack.NewSectionBlock(text, nil, nil, slack.SectionBlockOptionBlockID("summary")),
		slack.NewActionBlock("decision", approve, deny),
	}
}
