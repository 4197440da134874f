package approvals

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// decodeRequest turns the flat HGETALL reply of a request hash into a
// Request.
func decodeRequest(v any) (*Request, error) {
	flat, ok := v.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, errBadReply
	}
	f := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		f[k], _ = flat[i+1].(string)
	}
	if f["id"] == "" {
		return nil, errBadReply
	}
	return fieldsToRequest(f)
}

func fieldsToRequest(f map[string]string) (*Request, error) {
	r := &Request{
		ID:        f["id"],
		Requester: f["requester"],
		Target:    Target{Label: f["t_label"], SlackUser: f["t_user"], Email: f["t_email"]},
		PlanHash:  f["plan_hash"],
		Created:   msTime(f["created"]),
		Expires:   msTime(f["expires"]),
		Decided:   msTime(f["decided_at"]),
		State:     State(f["state"]),
		DryRun:    f["dry_run"] == "1",
	}
	r.Required, _ = strconv.Atoi(f["required"])
	if err := decodeJSONFields(f, r); err != nil {
		return nil, fmt.Errorf("decode request %s: %w", r.ID, err)
	}
	if by := f["denied_by"]; by != "" {
		r.Denial = &Denial{By: by, Reason: f["deny_reason"], At: r.Decided}
	}
	if by := f["cancelled_by"]; by != "" {
		r.Cancelled = &Cancellation{By: by, At: r.Decided}
	}
	if owner := f["claim_owner"]; owner != "" {
		attempt, _ := strconv.Atoi(f["attempt"])
		r.Claim = &Claim{Owner: owner, Until: msTime(f["claim_until"]), Attempt: attempt}
	}
	return r, nil
}

func decodeJSONFields(f map[string]string, r *Request) error {
	var approvals []struct{ By, At string }
	for _, x := range []struct {
		field string
		dst   any
	}{
		{"plan", &r.Plan}, {"approvals", &approvals},
		{"results", &r.Results}, {"messages", &r.Messages},
	} {
		if f[x.field] == "" {
			continue
		}
		if err := json.Unmarshal([]byte(f[x.field]), x.dst); err != nil {
			return fmt.Errorf("field %s: %w", x.field, err)
		}
	}
	for _, a := range approvals {
		r.Approvals = append(r.Approvals, Approval{By: a.By, At: msTime(a.At)})
	}
	return nil
}

// msTime parses unix milliseconds; Lua may hand them back as "1.7e+12" on
// some servers, so floats are accepted too.
func msTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return time.Time{}
		}
		ms = int64(fl)
	}
	return time.UnixMilli(ms).UTC()
}
