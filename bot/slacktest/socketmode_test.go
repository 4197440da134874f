package slacktest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func TestConnectSendsHello(t *testing.T) {
	fake := newFake(t)
	connect(t, fake)

	if got := fake.OpenCount(); got != 1 {
		t.Errorf("OpenCount() = %d, want 1", got)
	}
	if got := fake.Sockets(); len(got) != 1 {
		t.Errorf("Sockets() = %v, want one socket", got)
	}
}

func TestSlashCommandAckIsShownToInvoker(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)

	id := fake.SlashCommand("UALICE", "C1", "list alice")
	evt := h.next(t, socketmode.EventTypeSlashCommand)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("Data is %T, want slack.SlashCommand", evt.Data)
	}
	got := []string{evt.Request.EnvelopeID, cmd.Command, cmd.Text, cmd.UserID, cmd.ChannelID}
	want := []string{id, "/jenkins-tokens", "list alice", "UALICE", "C1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slash command (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(cmd.ResponseURL, fake.URL()+"/hooks/") || cmd.TriggerID == "" {
		t.Errorf("response_url %q, trigger_id %q", cmd.ResponseURL, cmd.TriggerID)
	}

	h.ack(t, evt, map[string]any{"text": "looking up alice"})
	eph := fake.Ephemerals("UALICE")
	if len(eph) != 1 || eph[0].Text != "looking up alice" || eph[0].Channel != "C1" {
		t.Errorf("Ephemerals(UALICE) = %+v, want the ack text in C1", eph)
	}
	if acks := fake.Acks(); len(acks) != 1 || acks[0].EnvelopeID != id {
		t.Errorf("Acks() = %+v, want one ack for %s", acks, id)
	}
}

func TestClickSendsPostedButton(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)
	msg := h.post(t, "C1", approveBlocks()...)

	fake.Click("UBOB", msg, "approve")
	evt := h.next(t, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("block actions = %+v, want one", cb.ActionCallback)
	}
	act := cb.ActionCallback.BlockActions[0]
	got := []string{string(cb.Type), act.ActionID, act.BlockID, act.Value,
		cb.Container.MessageTs, cb.Channel.ID, cb.User.ID, cb.Message.Timestamp}
	want := []string{"block_actions", "approve", "decision", "req-1", msg.TS, "C1", "UBOB",
		msg.TS}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("block action (-want +got):\n%s", diff)
	}
	h.ack(t, evt, nil)
}

func TestClickOnButtonWithoutBlockIDGetsGeneratedID(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)
	btn := slack.NewButtonBlockElement("go", "v",
		slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false))
	msg := h.post(t, "C1", slack.NewActionBlock("", btn))

	fake.Click("UBOB", msg, "go")
	cb := h.next(t, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].BlockID == "" {
		t.Errorf("actions = %+v, want one block action with a block_id", cb.ActionCallback)
	}
}

func TestViewSubmissionCarriesOpenedView(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)
	fake.SlashCommand("UALICE", "C1", "revoke alice")
	evt := h.next(t, socketmode.EventTypeSlashCommand)
	h.ack(t, evt, nil)

	modal := slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: "reason", PrivateMetadata: "req-7",
		Title: slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("why",
			slack.NewTextBlockObject(slack.PlainTextType, "Why?", false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, "text"))}},
	}
	trigger := evt.Data.(slack.SlashCommand).TriggerID
	resp, err := h.api.OpenViewContext(t.Context(), trigger, modal)
	if err != nil {
		t.Fatalf("open view: %v", err)
	}
	_, err = h.api.OpenViewContext(t.Context(), trigger, modal)
	if err == nil || err.Error() != "exchanged_trigger_id" {
		t.Errorf("second open with the same trigger: err = %v, want exchanged_trigger_id", err)
	}

	fake.ViewSubmission("UBOB", resp.ID, map[string]map[string]string{"why": {"text": "left"}})
	cb := h.next(t, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	got := []string{string(cb.Type), cb.View.ID, cb.View.CallbackID, cb.View.PrivateMetadata,
		cb.View.State.Values["why"]["text"].Value, cb.User.ID}
	want := []string{"view_submission", resp.ID, "reason", "req-7", "left", "UBOB"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("view submission (-want +got):\n%s", diff)
	}
}

func TestEventsParse(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)

	fake.AppMention("UALICE", "C1", "list bob", "1700000000.000001")
	ev := h.next(t, socketmode.EventTypeEventsAPI).Data.(slackevents.EventsAPIEvent)
	mention, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok {
		t.Fatalf("inner event %T, want *slackevents.AppMentionEvent", ev.InnerEvent.Data)
	}
	if mention.Text != "<@UBOT> list bob" || mention.ThreadTimeStamp != "1700000000.000001" ||
		mention.User != "UALICE" || mention.Channel != "C1" {
		t.Errorf("app mention = %+v", mention)
	}

	fake.MessageEvent("UBOB", "C1", "echo", "", FromBot("BOTHER"))
	ev = h.next(t, socketmode.EventTypeEventsAPI).Data.(slackevents.EventsAPIEvent)
	msg, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		t.Fatalf("inner event %T, want *slackevents.MessageEvent", ev.InnerEvent.Data)
	}
	got := []string{msg.Text, msg.BotID, msg.SubType, msg.ChannelType, msg.Channel}
	want := []string{"echo", "BOTHER", "bot_message", "channel", "C1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message event (-want +got):\n%s", diff)
	}

	fake.SetUserDeleted("UBOB", true)
	fake.UserChange("UBOB")
	ev = h.next(t, socketmode.EventTypeEventsAPI).Data.(slackevents.EventsAPIEvent)
	change, ok := ev.InnerEvent.Data.(*slackevents.UserChangeEvent)
	if !ok || change.User.ID != "UBOB" || !change.User.Deleted {
		t.Errorf("user_change = %#v, want UBOB deleted", ev.InnerEvent.Data)
	}
	if n := len(fake.Messages("C1")); n != 2 {
		t.Errorf("Messages(C1) has %d messages, want the mention and the message", n)
	}
}

func TestReconnect(t *testing.T) {
	tests := []struct {
		name      string
		interrupt func(*Server)
	}{
		{"disconnect", func(s *Server) { s.Disconnect("refresh_requested") }},
		{"drop", func(s *Server) { s.Drop() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			h := connect(t, fake)

			tt.interrupt(fake)
			if err := fake.WaitOpen(2, waitTimeout); err != nil {
				t.Fatal(err)
			}
			id := fake.SlashCommand("UALICE", "C1", "after")
			evt := h.next(t, socketmode.EventTypeSlashCommand)
			if evt.Request.EnvelopeID != id {
				t.Errorf("envelope %s, want %s", evt.Request.EnvelopeID, id)
			}
			h.ack(t, evt, nil)
		})
	}
}

func TestDisconnectFrameAloneTriggersReconnect(t *testing.T) {
	fake := newFake(t)
	connect(t, fake)
	start := time.Now()

	fake.Disconnect("warning")
	if err := fake.WaitOpen(2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	// The fake keeps a disconnected socket open for a grace period, so an early
	// reconnect proves the client acted on the frame itself.
	if d := time.Since(start); d >= disconnectGrace {
		t.Errorf("reconnect took %v, want less than the %v grace", d, disconnectGrace)
	}
}

func TestLateAckIsFlagged(t *testing.T) {
	fake := newFake(t, WithAckDeadline(50*time.Millisecond), WithoutProblemFailures())
	h := connect(t, fake)

	fake.SlashCommand("UALICE", "C1", "slow")
	evt := h.next(t, socketmode.EventTypeSlashCommand)
	time.Sleep(100 * time.Millisecond)
	h.ack(t, evt, nil)

	acks := fake.Acks()
	if len(acks) != 1 || !acks[0].Late {
		t.Errorf("Acks() = %+v, want one late ack", acks)
	}
	if p := fake.Problems(); len(p) != 1 || !strings.Contains(p[0], "late ack") {
		t.Errorf("Problems() = %q, want one late ack", p)
	}
}

func TestRedeliveryOfUnackedEvent(t *testing.T) {
	fake := newFake(t, WithRedelivery(100*time.Millisecond, 3))
	h := connect(t, fake)

	first := fake.AppMention("UALICE", "C1", "hi", "")
	evt := h.next(t, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != first || evt.Request.RetryAttempt != 0 {
		t.Fatalf("first delivery %+v", evt.Request)
	}
	retry := h.next(t, socketmode.EventTypeEventsAPI)
	got := []any{retry.Request.RetryAttempt, retry.Request.RetryReason,
		retry.Request.EnvelopeID == first}
	if diff := cmp.Diff([]any{1, "timeout", false}, got); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}
	a := evt.Data.(slackevents.EventsAPIEvent).Data.(*slackevents.EventsAPICallbackEvent)
	b := retry.Data.(slackevents.EventsAPIEvent).Data.(*slackevents.EventsAPICallbackEvent)
	if a.EventID != b.EventID {
		t.Errorf("retry event_id %s, want the original %s", b.EventID, a.EventID)
	}
	h.ack(t, retry, nil)
}

func TestManualRedeliver(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)

	first := fake.AppMention("UALICE", "C1", "hi", "")
	h.ack(t, h.next(t, socketmode.EventTypeEventsAPI), nil)
	second := fake.Redeliver(first)
	evt := h.next(t, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != second || evt.Request.RetryAttempt != 1 {
		t.Errorf("redelivery %+v, want envelope %s attempt 1", evt.Request, second)
	}
	h.ack(t, evt, nil)
}

func TestPushToChosenSocket(t *testing.T) {
	fake := newFake(t)
	connect(t, fake)
	h2 := connect(t, fake)
	socks := fake.Sockets()
	if len(socks) != 2 {
		t.Fatalf("Sockets() = %v, want 2", socks)
	}

	id := fake.SlashCommand("UALICE", "C1", "x", ToSocket(socks[1]))
	h2.ack(t, h2.next(t, socketmode.EventTypeSlashCommand), nil)
	acks := fake.Acks()
	if len(acks) != 1 || acks[0].EnvelopeID != id || acks[0].Socket != socks[1] {
		t.Errorf("Acks() = %+v, want %s acked on socket %d", acks, id, socks[1])
	}
}

func TestAckPayloadIsReturned(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)
	fake.SlashCommand("UALICE", "C1", "x")

	got := h.ack(t, h.next(t, socketmode.EventTypeSlashCommand),
		map[string]any{"response_type": "in_channel", "text": "public"})
	var body map[string]string
	if err := json.Unmarshal(got, &body); err != nil || body["text"] != "public" {
		t.Errorf("ack payload %s (%v)", got, err)
	}
	if msgs := fake.Messages("C1"); len(msgs) != 1 || msgs[0].Text != "public" {
		t.Errorf("Messages(C1) = %+v, want the in_channel response", msgs)
	}
}

func TestMessageShortcut(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)
	msg := h.post(t, "C1", approveBlocks()...)

	fake.MessageShortcut("UALICE", msg, "jenkins_tokens_msg")
	evt := h.next(t, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	got := []string{string(cb.Type), cb.CallbackID, cb.Channel.ID, cb.Message.Timestamp,
		cb.User.ID}
	want := []string{"message_action", "jenkins_tokens_msg", "C1", msg.TS, "UALICE"}
	if diff := cmp.Diff(want, got); diff != "" || cb.TriggerID == "" {
		t.Errorf("message shortcut (-want +got):\n%s trigger %q", diff, cb.TriggerID)
	}
	h.ack(t, evt, nil)
}
