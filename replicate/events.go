package replicate

import (
	"context"
	"encoding/json"
	"time"

	"github.com/berthlabs/berth/registry"
)

// eventItem is a local change an event-based policy may replicate.
type eventItem struct {
	op      Operation
	repo    string
	digest  string
	tag     string
	subject string
}

// Emit implements registry.EventSink: manifest pushes and deletes and tag
// deletes of the local registry are handed to the service's dispatcher,
// which starts executions of the event-based policies they match. It never
// blocks; if the queue is full the event is dropped and logged.
func (s *Service) Emit(_ context.Context, e registry.Event) {
	var it eventItem
	switch {
	case e.Action == registry.EventPush && e.Target == registry.TargetManifest:
		it = eventItem{op: OpCopy, repo: e.Repository, digest: e.Digest.String(), tag: e.Tag, subject: e.Subject.String()}
	case e.Action == registry.EventDelete && e.Target == registry.TargetManifest:
		it = eventItem{op: OpDelete, repo: e.Repository, digest: e.Digest.String()}
	case e.Action == registry.EventDelete && e.Target == registry.TargetTag:
		it = eventItem{op: OpDelete, repo: e.Repository, tag: e.Tag}
	default:
		return
	}
	select {
	case s.events <- it:
	default:
		s.log.Warn("replication: event queue full; event dropped", "repository", e.Repository, "digest", e.Digest)
	}
}

// dispatch gathers events for a short while and starts one execution per
// matching policy for each batch.
func (s *Service) dispatch() {
	for {
		var batch []eventItem
		select {
		case <-s.stop:
			return
		case it := <-s.events:
			batch = append(batch, it)
		}
		timer := time.NewTimer(s.batch)
	gather:
		for len(batch) < 1000 {
			select {
			case it := <-s.events:
				batch = append(batch, it)
			case <-timer.C:
				break gather
			case <-s.stop:
				timer.Stop()
				return
			}
		}
		timer.Stop()
		s.handle(batch)
	}
}

func (s *Service) handle(batch []eventItem) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ps, _, err := s.st.policies(ctx, "", 0, 1<<30)
	if err != nil {
		s.log.Warn("replication: reading policies for events", "err", err)
		return
	}
	for i := range ps {
		p := &ps[i]
		if !p.Enabled || p.Trigger != TriggerEvent || p.Mode != Push {
			continue
		}
		items := eventItems(p, batch)
		if len(items) == 0 {
			continue
		}
		if _, err := s.startExecution(ctx, p.ID, TriggerEvent, items); err != nil {
			s.log.Warn("replication: starting an event-based execution", "policy", p.Name, "err", err)
		}
	}
}

// eventItems turns the events a policy selects into task items, merging
// tags of the same artifact.
func eventItems(p *Policy, batch []eventItem) []item {
	var out []item
	index := map[string]int{}
	add := func(it item) {
		key := string(it.Op) + "|" + it.SrcRepo + "|" + it.Digest
		if it.Op == OpDelete || it.Referrers {
			key += "|" + joinTags(it.Tags)
			if it.Referrers {
				key += "|refs"
			}
		}
		if i, ok := index[key]; ok {
			out[i].Tags = uniqueTags(append(out[i].Tags, it.Tags...))
			return
		}
		index[key] = len(out)
		out = append(out, it)
	}
	for _, ev := range batch {
		if !MatchRepository(p.Filters, ev.repo) {
			continue
		}
		dst, err := p.Rewrite().Apply(ev.repo)
		if err != nil {
			continue
		}
		switch {
		case ev.op == OpCopy && ev.tag != "":
			if MatchTag(p.Filters, ev.tag) {
				add(item{Op: OpCopy, SrcRepo: ev.repo, DstRepo: dst, Digest: ev.digest, Tags: []string{ev.tag}})
			}
		case ev.op == OpCopy && ev.subject != "":
			// A signature or SBOM pushed by digest: bring it along if its
			// subject was replicated.
			add(item{Op: OpCopy, SrcRepo: ev.repo, DstRepo: dst, Digest: ev.subject, Referrers: true})
		case ev.op == OpDelete && p.ReplicateDeletion && ev.tag != "":
			if MatchTag(p.Filters, ev.tag) {
				add(item{Op: OpDelete, SrcRepo: ev.repo, DstRepo: dst, Tags: []string{ev.tag}})
			}
		case ev.op == OpDelete && p.ReplicateDeletion && ev.digest != "":
			add(item{Op: OpDelete, SrcRepo: ev.repo, DstRepo: dst, Digest: ev.digest})
		}
	}
	return out
}

func joinTags(tags []string) string {
	b, _ := json.Marshal(tags)
	return string(b)
}

func decodeItems(s string) ([]item, error) {
	var out []item
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}
