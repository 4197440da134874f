package approvals

import (
	"testing"
	"time"
)

// testFollow checks that each audit event reaches one consumer of a group,
// and that events a consumer took and never acknowledged move on.
func testFollow(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	const group, block, reclaim = "mirror", 20 * time.Millisecond, 100 * time.Millisecond
	if evs, err := f.s.Follow(ctx, group, "a", block, reclaim); err != nil || len(evs) != 0 {
		t.Fatalf("Follow on an empty trail = %d events, %v", len(evs), err)
	}
	r := f.create(t, sampleNew())
	if _, err := f.s.Cancel(ctx, r.ID, r.Requester); err != nil {
		t.Fatal(err)
	}

	got, err := f.s.Follow(ctx, group, "a", block, reclaim)
	if err != nil || len(got) != 2 || got[0].To != Pending || got[1].To != Cancelled {
		t.Fatalf("consumer a got %+v, %v; want the create and cancel events", got, err)
	}
	if evs, _ := f.s.Follow(ctx, group, "b", block, reclaim); len(evs) != 0 {
		t.Fatalf("consumer b got %d events that a holds", len(evs))
	}

	time.Sleep(2 * reclaim) // a "dies" without acknowledging
	again, err := f.s.Follow(ctx, group, "b", block, reclaim)
	if err != nil || len(again) != 2 || again[0].ID != got[0].ID {
		t.Fatalf("consumer b reclaimed %+v, %v; want a's two events", again, err)
	}
	if err := f.s.AckFollowed(ctx, group, again[0].ID, again[1].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * reclaim)
	if evs, _ := f.s.Follow(ctx, group, "c", block, reclaim); len(evs) != 0 {
		t.Fatalf("acknowledged events came back: %+v", evs)
	}
}
