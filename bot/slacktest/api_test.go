package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestRateLimitIsRateLimitedError(t *testing.T) {
	fake := newFake(t)
	api := newAPI(fake)
	fake.RateLimit("chat.postMessage", 1)

	_, _, err := api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("err = %v, want *slack.RateLimitedError with RetryAfter 1s", err)
	}
	if _, _, err := api.PostMessageContext(t.Context(), "C1",
		slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("second post: %v, want success", err)
	}
}

func TestPostMessageErrors(t *testing.T) {
	fake := newFake(t)
	fake.AddChannel(Channel{ID: "C2", Name: "closed", Members: []string{"UALICE"}})
	api := newAPI(fake)
	dividers := make([]slack.Block, 51)
	for i := range dividers {
		dividers[i] = slack.NewDividerBlock()
	}
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
		strings.Repeat("x", 3001), false, false), nil, nil)
	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"51 blocks", "C1", []slack.MsgOption{slack.MsgOptionBlocks(dividers...)},
			"invalid_blocks"},
		{"50 blocks", "C1", []slack.MsgOption{slack.MsgOptionBlocks(dividers[:50]...)}, ""},
		{"3001-char section", "C1", []slack.MsgOption{slack.MsgOptionBlocks(long)},
			"invalid_blocks"},
		{"no text", "C1", nil, "no_text"},
		{"unknown channel", "C9", []slack.MsgOption{slack.MsgOptionText("x", false)},
			"channel_not_found"},
		{"bot not member", "C2", []slack.MsgOption{slack.MsgOptionText("x", false)},
			"not_in_channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(t.Context(), tt.channel, tt.opts...)
			if got := errorCode(err); got != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func errorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestUpdateMessage(t *testing.T) {
	fake := newFake(t)
	api := connect(t, fake).api
	_, ts, err := api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatal(err)
	}
	fake.MessageEvent("UALICE", "C1", "human", "")
	human := fake.Messages("C1")[1].TS
	eph, err := api.PostEphemeralContext(t.Context(), "C1", "UALICE",
		slack.MsgOptionText("secret", false))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ts, want string
	}{
		{"own message", ts, ""},
		{"unknown ts", "1.000001", "message_not_found"},
		{"user's message", human, "cant_update_message"},
		{"ephemeral", eph, "cant_update_message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := api.UpdateMessageContext(t.Context(), "C1", tt.ts,
				slack.MsgOptionText("v2", false))
			if got := errorCode(err); got != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
	m, _ := fake.Message("C1", ts)
	if m.Text != "v2" || m.Updated != 1 {
		t.Errorf("updated message = %+v, want text v2 updated once", m)
	}
}

func TestDirectoryMethods(t *testing.T) {
	fake := newFake(t)
	fake.AddUserGroup("S1", "UALICE", "UBOB")
	api := newAPI(fake)
	ctx := t.Context()

	u, err := api.GetUserInfoContext(ctx, "UALICE")
	if err != nil || u.Profile.Email != "alice@example.com" || u.Name != "alice" {
		t.Errorf("users.info = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "UNOPE"); errorCode(err) != "user_not_found" {
		t.Errorf("users.info unknown: %v", err)
	}
	u, err = api.GetUserByEmailContext(ctx, "BOB@example.com")
	if err != nil || u.ID != "UBOB" {
		t.Errorf("users.lookupByEmail = %+v, %v", u, err)
	}
	if _, err := api.GetUserByEmailContext(ctx, "x@y"); errorCode(err) != "users_not_found" {
		t.Errorf("users.lookupByEmail unknown: %v", err)
	}
	members, err := api.GetUserGroupMembersContext(ctx, "S1")
	if diff := cmp.Diff([]string{"UALICE", "UBOB"}, members); diff != "" || err != nil {
		t.Errorf("usergroups.users.list (-want +got):\n%s%v", diff, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S9"); errorCode(err) != "no_such_subteam" {
		t.Errorf("usergroups.users.list unknown: %v", err)
	}

	var all []string
	params := &slack.GetUsersInConversationParameters{ChannelID: "C1", Limit: 2}
	for {
		page, cursor, err := api.GetUsersInConversationContext(ctx, params)
		if err != nil {
			t.Fatalf("conversations.members: %v", err)
		}
		all = append(all, page...)
		if cursor == "" {
			break
		}
		params.Cursor = cursor
	}
	if diff := cmp.Diff([]string{"UALICE", "UBOB", "UBOT"}, all); diff != "" {
		t.Errorf("conversations.members (-want +got):\n%s", diff)
	}
}

func TestTokens(t *testing.T) {
	fake := newFake(t, WithoutProblemFailures())
	tests := []struct {
		name, method, bearer, form, want string
	}{
		{"open with app token", "apps.connections.open", fake.AppToken(), "", ""},
		{"open with bot token", "apps.connections.open", fake.BotToken(), "",
			"not_allowed_token_type"},
		{"open with wrong token", "apps.connections.open", "xapp-wrong", "", "invalid_auth"},
		{"open without token", "apps.connections.open", "", "", "invalid_auth"},
		{"bot method with app token", "auth.test", "", fake.AppToken(),
			"not_allowed_token_type"},
		{"bot method with wrong token", "auth.test", "", "xoxb-wrong", "invalid_auth"},
		{"bot method with bot token", "auth.test", "", fake.BotToken(), ""},
		{"bot method with bearer", "auth.test", fake.BotToken(), "", ""},
		{"unknown method", "chat.nope", "", fake.BotToken(), "unknown_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawCall(t, fake, tt.method, tt.bearer, tt.form); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
	if p := fake.Problems(); len(p) != 1 || !strings.Contains(p[0], "chat.nope") {
		t.Errorf("Problems() = %q, want the unknown method", p)
	}
	if calls := fake.Calls("auth.test"); len(calls) != 4 || calls[3].Error != "" {
		t.Errorf("Calls(auth.test) = %+v, want 4 recorded", calls)
	}
}

// rawCall posts a form to method and returns the error code ("" for ok).
func rawCall(t *testing.T, fake *Server, method, bearer, token string) string {
	t.Helper()
	form := url.Values{}
	if token != "" {
		form.Set("token", token)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		fake.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Error
}

func TestInvalidAuthStopsClient(t *testing.T) {
	fake := newFake(t)
	api := slack.New(fake.BotToken(), slack.OptionAppLevelToken("xapp-wrong"),
		slack.OptionAPIURL(fake.APIURL()))
	err := socketmode.New(api).RunContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("RunContext = %v, want invalid_auth", err)
	}
}

func TestResponseURL(t *testing.T) {
	fake := newFake(t)
	h := connect(t, fake)
	msg := h.post(t, "C1", approveBlocks()...)
	fake.Click("UBOB", msg, "deny")
	evt := h.next(t, socketmode.EventTypeInteractive)
	h.ack(t, evt, nil)
	hookURL := evt.Data.(slack.InteractionCallback).ResponseURL
	post := func(opts ...slack.MsgOption) error {
		_, _, err := h.api.PostMessageContext(t.Context(), "C1", opts...)
		return err
	}

	if err := post(slack.MsgOptionResponseURL(hookURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("only you", false)); err != nil {
		t.Fatalf("ephemeral response: %v", err)
	}
	if eph := fake.Ephemerals("UBOB"); len(eph) != 1 || eph[0].Text != "only you" {
		t.Errorf("Ephemerals(UBOB) = %+v", eph)
	}
	if err := post(slack.MsgOptionReplaceOriginal(hookURL),
		slack.MsgOptionText("denied", false)); err != nil {
		t.Fatalf("replace original: %v", err)
	}
	if m, _ := fake.Message("C1", msg.TS); m.Text != "denied" || m.Updated != 1 ||
		m.Blocks != nil {
		t.Errorf("replaced message = %+v", m)
	}
	for i := 3; i <= 6; i++ {
		err := post(slack.MsgOptionResponseURL(hookURL, slack.ResponseTypeInChannel),
			slack.MsgOptionText(fmt.Sprint("use ", i), false))
		if wantErr := i == 6; (err != nil) != wantErr {
			t.Errorf("use %d: err = %v, want error %v", i, err, wantErr)
		}
	}
	if n := len(fake.Messages("C1")); n != 4 {
		t.Errorf("Messages(C1) has %d, want the original and 3 in_channel responses", n)
	}
}

func TestViewsOpenTriggers(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Unix(1700000000, 0).UnixNano())
	fake := newFake(t, WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	h := connect(t, fake)
	fake.SlashCommand("UALICE", "C1", "x")
	evt := h.next(t, socketmode.EventTypeSlashCommand)
	h.ack(t, evt, nil)
	modal := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "cb",
		Title: slack.NewTextBlockObject(slack.PlainTextType, "T", false, false)}

	clock.Add(int64(3*time.Second + time.Millisecond))
	tests := []struct{ name, trigger, want string }{
		{"expired", evt.Data.(slack.SlashCommand).TriggerID, "expired_trigger_id"},
		{"unknown", "1.2.3", "invalid_trigger_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.api.OpenViewContext(t.Context(), tt.trigger, modal)
			if got := errorCode(err); got != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRawAckProblems(t *testing.T) {
	fake := newFake(t, WithoutProblemFailures())
	_, wsURL, err := newAPI(fake).StartSocketModeContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, hello, err := conn.ReadMessage(); err != nil || !strings.Contains(string(hello),
		`"type":"hello"`) {
		t.Fatalf("first frame %s, %v; want hello", hello, err)
	}

	id := fake.SlashCommand("UALICE", "C1", "x")
	big := `{"envelope_id":"` + id + `","payload":{"text":"` + strings.Repeat("x", 20480) + `"}}`
	for _, frame := range []string{`{"envelope_id":"nope"}`, big,
		`{"envelope_id":"` + id + `"}`, `{"envelope_id":"` + id + `"}`} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if !fake.waitFor(waitTimeout, func() bool { return len(fake.acks) == 4 }) {
		t.Fatalf("acks = %+v, want 4", fake.Acks())
	}
	want := []string{"unknown envelope", "bytes", "duplicate ack"}
	got := fake.Problems()
	if len(got) != len(want) {
		t.Fatalf("Problems() = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to mention %q", i, got[i], want[i])
		}
	}
}
