package audit

import (
	"net"
	"time"
)

// run is the Recorder's writer: it gathers entries into batches and writes
// each once it is full or its first entry has waited the flush interval.
// Once Close is called and no Record is in progress, it writes what is
// queued and exits; on abort it exits at once.
func (r *Recorder) run() {
	defer close(r.done)
	defer r.cancel()
	batch := make([]Entry, 0, r.batchSize)
	queued := 0 // entries taken from the queue into batch, before folding
	timer := time.NewTimer(r.interval)
	timer.Stop()
	var due <-chan time.Time // timer.C while batch is not empty
	for {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
			queued++
			if len(batch) == 1 {
				timer.Reset(r.interval)
				due = timer.C
			}
			if len(batch) < r.batchSize {
				continue
			}
			// Full: fold repeated pulls, and keep gathering while folding
			// frees more than half the batch (a burst of the same pulls).
			if batch = coalescePulls(batch); len(batch) < r.batchSize/2 {
				continue
			}
		case <-due:
		case <-r.sendersDone:
			r.drain(batch, queued)
			return
		case <-r.ctx.Done():
			return
		}
		timer.Stop()
		due = nil
		if !r.flush(batch, queued) {
			return
		}
		batch, queued = batch[:0], 0
	}
}

// drain writes the batch in hand and everything queued; no Record can add
// more once sendersDone is closed.
func (r *Recorder) drain(batch []Entry, queued int) {
	for {
		for len(batch) < r.batchSize && len(r.queue) > 0 {
			batch = append(batch, <-r.queue)
			queued++
		}
		if len(batch) == 0 || !r.flush(batch, queued) {
			return
		}
		batch, queued = batch[:0], 0
	}
}

// flush writes one batch, retrying with exponential backoff until it is
// written (true) or the Recorder is aborted (false).
func (r *Recorder) flush(batch []Entry, entries int) bool {
	queued := int64(entries)
	batch = coalescePulls(batch)
	wait := r.minBackoff
	for attempt := 1; ; attempt++ {
		err := r.store.insert(r.ctx, batch)
		if err == nil {
			r.written.Add(queued)
			r.batches.Add(1)
			r.pending.Add(-queued)
			return true
		}
		if r.ctx.Err() != nil {
			return false
		}
		r.failed.Add(1)
		r.log.Error("audit: batch write failed, will retry", "entries", len(batch),
			"attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return false
		}
		wait = min(2*wait, r.maxBackoff)
	}
}

// coalescePulls folds pulls that differ only in time into one entry with a
// count, keeping the first time. Pulls are by far the most frequent entries
// (a CI fleet pulls one image thousands of times a minute); writing each as
// a row would cost more than serving the pull. Refused pushes and deletes
// fold the same way (a client retrying a refused push). Other actions are
// kept one by one.
func coalescePulls(batch []Entry) []Entry {
	type key struct {
		actor, kind, action, resourceType, resource, project, result, detail, host, agent string
		projectID                                                                         int64
	}
	seen := map[key]int{} // index in out
	out := batch[:0]
	for _, e := range batch {
		if e.Action != ActionPull && (e.Result != ResultFailure || (e.Action != ActionPush && e.Action != ActionDelete)) {
			out = append(out, e)
			continue
		}
		// The client's address without its port: one client's connections
		// are one caller.
		host, _, err := net.SplitHostPort(e.RemoteAddr)
		if err != nil {
			host = e.RemoteAddr
		}
		k := key{e.Actor, e.ActorKind, e.Action, e.ResourceType, e.Resource, e.Project, e.Result, e.Detail, host, e.UserAgent, e.ProjectID}
		if i, ok := seen[k]; ok {
			out[i].Count = max(out[i].Count, 1) + max(e.Count, 1)
			if e.Time.Before(out[i].Time) {
				out[i].Time = e.Time
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, e)
	}
	return out
}
