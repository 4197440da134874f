package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// access decides who may request and who may approve, from Slack user ids
// and user groups. Group membership is read from Slack at click time and
// cached for at most a minute.
type access struct {
	api        *slack.Client
	requesters members
	approvers  members
	ttl        time.Duration
	now        func() time.Time

	mu    sync.Mutex
	cache map[string]groupEntry
}

type members struct {
	users  map[string]bool
	groups []string
}

type groupEntry struct {
	users   map[string]bool
	fetched time.Time
}

func newAccess(api *slack.Client, requesters, approvers []string, ttl time.Duration,
	now func() time.Time) *access {
	return &access{
		api:        api,
		requesters: splitMembers(requesters),
		approvers:  splitMembers(approvers),
		ttl:        ttl,
		now:        now,
		cache:      map[string]groupEntry{},
	}
}

func splitMembers(ids []string) members {
	m := members{users: map[string]bool{}}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		switch {
		case strings.HasPrefix(id, "S"):
			m.groups = append(m.groups, id)
		case id != "":
			m.users[id] = true
		}
	}
	return m
}

func (a *access) isRequester(ctx context.Context, user string) (bool, error) {
	return a.isMember(ctx, a.requesters, user)
}

func (a *access) isApprover(ctx context.Context, user string) (bool, error) {
	return a.isMember(ctx, a.approvers, user)
}

// approverGroup returns the first approvers' user group, for mentions.
func (a *access) approverGroup() string {
	if len(a.approvers.groups) == 0 {
		return ""
	}
	return a.approvers.groups[0]
}

func (a *access) isMember(ctx context.Context, m members, user string) (bool, error) {
	if m.users[user] {
		return true, nil
	}
	for _, g := range m.groups {
		users, err := a.group(ctx, g)
		if err != nil {
			return false, err
		}
		if users[user] {
			return true, nil
		}
	}
	return false, nil
}

func (a *access) group(ctx context.Context, id string) (map[string]bool, error) {
	a.mu.Lock()
	e, ok := a.cache[id]
	a.mu.Unlock()
	if ok && a.now().Sub(e.fetched) < a.ttl {
		return e.users, nil
	}
	list, err := a.api.GetUserGroupMembersContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read members of user group %s: %w", id, err)
	}
	users := make(map[string]bool, len(list))
	for _, u := range list {
		users[u] = true
	}
	a.mu.Lock()
	a.cache[id] = groupEntry{users: users, fetched: a.now()}
	a.mu.Unlock()
	return users, nil
}
