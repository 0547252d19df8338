package webhook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// Seal labels: a sealed value opens only in its own column.
const (
	labelSecret = "webhook_policies.secret"
	labelAuth   = "webhook_policies.targets.auth_header"
)

// Page sizes of listings.
const (
	defaultPage = 20
	maxPage     = 100
)

// storedTarget is a target as the targets column holds it.
type storedTarget struct {
	Type           string        `json:"type"`
	Address        string        `json:"address"`
	AuthHeader     string        `json:"auth_header,omitempty"` // sealed
	SkipCertVerify bool          `json:"skip_cert_verify,omitempty"`
	PayloadFormat  PayloadFormat `json:"payload_format"`
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") ||
		strings.Contains(err.Error(), "duplicate key"))
}

// newSecret returns a random signing secret: 32 bytes, hex.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sealTargets encodes targets for the targets column.
func (s *Service) sealTargets(ts []Target) (string, error) {
	out := make([]storedTarget, len(ts))
	for i, t := range ts {
		auth, err := s.seal.Seal(t.AuthHeader, labelAuth)
		if err != nil {
			return "", fmt.Errorf("webhook: sealing an auth header: %w", err)
		}
		out[i] = storedTarget{Type: t.Type, Address: t.Address, AuthHeader: auth,
			SkipCertVerify: t.SkipCertVerify, PayloadFormat: t.PayloadFormat}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func (s *Service) openTargets(raw string) ([]Target, error) {
	var st []storedTarget
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("webhook: stored targets: %w", err)
	}
	out := make([]Target, len(st))
	for i, t := range st {
		auth, err := s.seal.Open(t.AuthHeader, labelAuth)
		if err != nil {
			return nil, fmt.Errorf("webhook: opening an auth header: %w", err)
		}
		out[i] = Target{Type: t.Type, Address: t.Address, AuthHeader: auth,
			SkipCertVerify: t.SkipCertVerify, PayloadFormat: t.PayloadFormat}
	}
	return out, nil
}

const policyColumns = `id, project_id, name, description, enabled, event_types, targets, secret, creator, created_at, updated_at`

type rowScanner interface{ Scan(...any) error }

// scanPolicy reads a policy row; the secret stays sealed in sealed.
func (s *Service) scanPolicy(r rowScanner) (p Policy, sealed string, err error) {
	var types, targets string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.ProjectID, &p.Name, &p.Description, &p.Enabled, &types, &targets,
		&sealed, &p.Creator, &created, &updated); err != nil {
		return p, "", err
	}
	if err := json.Unmarshal([]byte(types), &p.EventTypes); err != nil {
		return p, "", fmt.Errorf("webhook: policy %d: stored event types: %w", p.ID, err)
	}
	if p.Targets, err = s.openTargets(targets); err != nil {
		return p, "", fmt.Errorf("policy %d: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return p, sealed, nil
}

func notFound(projectID, id int64) error {
	return fmt.Errorf("webhook: policy %d of project %d: %w", id, projectID, ErrNotFound)
}

// Create stores a new policy and returns it with its ID and its Secret
// (generated when p has none): the only time the secret is returned.
func (s *Service) Create(ctx context.Context, p Policy) (Policy, error) {
	defer s.policiesChanged()
	p, err := p.normalize()
	if err != nil {
		return Policy{}, err
	}
	if p.Secret == "" {
		p.Secret = newSecret()
	}
	if p.Creator == "" {
		p.Creator = core.ActorFrom(ctx)
	}
	sealed, err := s.seal.Seal(p.Secret, labelSecret)
	if err != nil {
		return Policy{}, fmt.Errorf("webhook: sealing the secret: %w", err)
	}
	targets, err := s.sealTargets(p.Targets)
	if err != nil {
		return Policy{}, err
	}
	types, _ := json.Marshal(p.EventTypes)
	now := s.now().UTC().Truncate(time.Millisecond)
	p.CreatedAt, p.UpdatedAt = now, now
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// ON CONFLICT: a policy of the same name created meanwhile (on
		// PostgreSQL, by a transaction running alongside) is no error
		// that aborts the transaction, only no row.
		return tx.QueryRow(ctx, `INSERT INTO webhook_policies (project_id, name, description, enabled,
			event_types, targets, secret, creator, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, name) DO NOTHING RETURNING id`,
			p.ProjectID, p.Name, p.Description, p.Enabled, string(types), targets, sealed, p.Creator,
			ms(now), ms(now)).Scan(&p.ID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, fmt.Errorf("webhook: policy %q of project %d: %w", p.Name, p.ProjectID, ErrExists)
	}
	if err != nil {
		return Policy{}, fmt.Errorf("webhook: create policy: %w", err)
	}
	return p, nil
}

func nameTaken(ctx context.Context, tx *sqldb.Tx, projectID int64, name string, except int64) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_policies WHERE project_id = ? AND name = ? AND id <> ?`,
		projectID, name, except).Scan(&n)
	return n > 0, err
}

// Get returns policy id of project projectID, its Secret left empty, or
// an error matching ErrNotFound. A policy of another project is not
// found.
func (s *Service) Get(ctx context.Context, projectID, id int64) (Policy, error) {
	p, _, err := s.scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+
		` FROM webhook_policies WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, notFound(projectID, id)
	}
	if err != nil {
		return Policy{}, fmt.Errorf("webhook: get policy: %w", err)
	}
	return p, nil
}

// GetByName returns the project's policy called name.
func (s *Service) GetByName(ctx context.Context, projectID int64, name string) (Policy, error) {
	p, _, err := s.scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+
		` FROM webhook_policies WHERE project_id = ? AND name = ?`, projectID, strings.TrimSpace(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, fmt.Errorf("webhook: policy %q of project %d: %w", name, projectID, ErrNotFound)
	}
	if err != nil {
		return Policy{}, fmt.Errorf("webhook: get policy: %w", err)
	}
	return p, nil
}

// List returns a page of the project's policies by id (default 20, at
// most 100 a page) and how many it has in all.
func (s *Service) List(ctx context.Context, projectID int64, page core.Page) ([]Policy, int, error) {
	page = page.Bounded(defaultPage, maxPage)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_policies WHERE project_id = ?`, projectID).
		Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("webhook: list policies: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+policyColumns+` FROM webhook_policies WHERE project_id = ?
		ORDER BY id LIMIT ? OFFSET ?`, projectID, page.Limit, page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("webhook: list policies: %w", err)
	}
	defer rows.Close()
	out := []Policy{}
	for rows.Next() {
		p, _, err := s.scanPolicy(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("webhook: list policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("webhook: list policies: %w", err)
	}
	return out, total, nil
}

// Update changes policy id of project projectID in one transaction: fn
// is given the stored policy (auth headers included, Secret empty) and
// changes it; the result is checked as Create checks and stored. A Secret
// fn sets replaces the signing secret. ID, ProjectID, Creator and
// CreatedAt do not change. It returns the stored policy, Secret empty.
func (s *Service) Update(ctx context.Context, projectID, id int64, fn func(p *Policy) error) (Policy, error) {
	defer s.policiesChanged()
	var out Policy
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Locked: the row is written back whole, so on PostgreSQL an
		// update committed in between (a secret rotation, another
		// node's edit) would otherwise be undone.
		cur, sealed, err := s.scanPolicy(tx.QueryRow(ctx, `SELECT `+policyColumns+
			` FROM webhook_policies WHERE project_id = ? AND id = ?`+tx.ForUpdate(), projectID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(projectID, id)
		}
		if err != nil {
			return err
		}
		p := cur
		p.EventTypes = append([]EventType(nil), cur.EventTypes...)
		p.Targets = append([]Target(nil), cur.Targets...)
		if err := fn(&p); err != nil {
			return err
		}
		p.ID, p.ProjectID, p.Creator, p.CreatedAt = cur.ID, cur.ProjectID, cur.Creator, cur.CreatedAt
		if p, err = p.normalize(); err != nil {
			return err
		}
		if p.Secret != "" {
			if sealed, err = s.seal.Seal(p.Secret, labelSecret); err != nil {
				return fmt.Errorf("webhook: sealing the secret: %w", err)
			}
		}
		if taken, err := nameTaken(ctx, tx, p.ProjectID, p.Name, p.ID); err != nil || taken {
			if taken {
				return fmt.Errorf("webhook: policy %q of project %d: %w", p.Name, p.ProjectID, ErrExists)
			}
			return err
		}
		targets, err := s.sealTargets(p.Targets)
		if err != nil {
			return err
		}
		types, _ := json.Marshal(p.EventTypes)
		p.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		if _, err := tx.Exec(ctx, `UPDATE webhook_policies SET name = ?, description = ?, enabled = ?,
			event_types = ?, targets = ?, secret = ?, updated_at = ? WHERE id = ? AND project_id = ?`,
			p.Name, p.Description, p.Enabled, string(types), targets, sealed, ms(p.UpdatedAt), p.ID, p.ProjectID); err != nil {
			return err
		}
		p.Secret = ""
		out = p
		return nil
	})
	if isUnique(err) {
		return Policy{}, fmt.Errorf("webhook: policy of project %d: name taken: %w", projectID, ErrExists)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrExists) {
			return Policy{}, err
		}
		return Policy{}, fmt.Errorf("webhook: update policy: %w", err)
	}
	return out, nil
}

// RotateSecret gives policy id a new random signing secret and returns
// it. Deliveries not yet sent are signed with the new one.
func (s *Service) RotateSecret(ctx context.Context, projectID, id int64) (string, error) {
	secret := newSecret()
	_, err := s.Update(ctx, projectID, id, func(p *Policy) error {
		p.Secret = secret
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Delete removes policy id of project projectID with its delivery log.
// Deliveries still queued are dropped when their job runs.
func (s *Service) Delete(ctx context.Context, projectID, id int64) error {
	defer s.policiesChanged()
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM webhook_policies WHERE project_id = ? AND id = ?`, projectID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = notFound(projectID, id)
			}
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE project_id = ? AND policy_id = ?`, projectID, id)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("webhook: delete policy: %w", err)
	}
	return err
}

// ForgetProject removes, inside tx (the transaction deleting the
// project), the project's policies and delivery log. Deliveries still
// queued are dropped when their job runs.
func (s *Service) ForgetProject(ctx context.Context, tx *sqldb.Tx, projectID int64) error {
	defer s.policiesChanged()
	if projectID <= 0 {
		return fmt.Errorf("webhook: ForgetProject needs a project id: %w", ErrInvalid)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM webhook_policies WHERE project_id = ?`, projectID); err != nil {
		return fmt.Errorf("webhook: forget project %d: %w", projectID, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE project_id = ?`, projectID); err != nil {
		return fmt.Errorf("webhook: forget project %d: %w", projectID, err)
	}
	return nil
}

// subscribed returns the project's enabled policies that subscribe to t,
// secrets sealed (Emit does not need them).
func (s *Service) subscribed(ctx context.Context, projectID int64, t EventType) ([]Policy, error) {
	rows, err := s.db.Query(ctx, `SELECT `+policyColumns+` FROM webhook_policies
		WHERE project_id = ? AND enabled = ? ORDER BY id`, projectID, true)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		p, _, err := s.scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		if p.Subscribes(t) {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// policyWithSecret reads a policy for a delivery, its secret opened.
func (s *Service) policyWithSecret(ctx context.Context, projectID, id int64) (Policy, error) {
	p, sealed, err := s.scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+
		` FROM webhook_policies WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, notFound(projectID, id)
	}
	if err != nil {
		return Policy{}, err
	}
	if p.Secret, err = s.seal.Open(sealed, labelSecret); err != nil {
		return Policy{}, fmt.Errorf("webhook: policy %d: opening the secret: %w", id, err)
	}
	return p, nil
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	StatusPending DeliveryStatus = "pending" // queued, or failed and to be retried
	StatusSuccess DeliveryStatus = "success" // a 2xx answer
	StatusFailed  DeliveryStatus = "failed"  // out of attempts, or dropped
)

// Delivery is one event sent (or to be sent) to one target of a policy.
type Delivery struct {
	ID int64
	// UUID is the HeaderDelivery value and the CloudEvents id, the same
	// on every attempt.
	UUID          string
	ProjectID     int64
	PolicyID      int64
	EventType     EventType
	Address       string
	PayloadFormat PayloadFormat
	Test          bool // sent by SendTest
	Status        DeliveryStatus
	HTTPStatus    int // of the latest attempt; 0 when it got no answer
	Attempts      int
	// LastError says why the latest attempt failed (at most 512 bytes;
	// never the receiver's response body).
	LastError     string
	NextAttemptAt time.Time // when a pending delivery is tried next
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const deliveryColumns = `id, uuid, project_id, policy_id, event_type, address, format, test, status,
	http_status, attempts, last_error, next_attempt_at, created_at, updated_at`

func scanDelivery(r rowScanner) (Delivery, error) {
	var d Delivery
	var next, created, updated int64
	err := r.Scan(&d.ID, &d.UUID, &d.ProjectID, &d.PolicyID, &d.EventType, &d.Address, &d.PayloadFormat,
		&d.Test, &d.Status, &d.HTTPStatus, &d.Attempts, &d.LastError, &next, &created, &updated)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromMS(next), fromMS(created), fromMS(updated)
	return d, err
}

// Deliveries returns a page of the delivery log of policy policyID of
// project projectID (of all the project's policies when policyID is 0),
// newest first (default 20, at most 100 a page), and how many there are
// in all. An unknown policy is ErrNotFound.
func (s *Service) Deliveries(ctx context.Context, projectID, policyID int64, page core.Page) ([]Delivery, int, error) {
	page = page.Bounded(defaultPage, maxPage)
	where, args := `project_id = ?`, []any{projectID}
	if policyID != 0 {
		if _, err := s.Get(ctx, projectID, policyID); err != nil {
			return nil, 0, err
		}
		where, args = where+` AND policy_id = ?`, append(args, policyID)
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE `+where, args...).
		Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("webhook: list deliveries: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE `+where+
		` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, page.Limit, page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("webhook: list deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("webhook: list deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("webhook: list deliveries: %w", err)
	}
	return out, total, nil
}

// Delivery returns delivery id of project projectID.
func (s *Service) Delivery(ctx context.Context, projectID, id int64) (Delivery, error) {
	d, err := scanDelivery(s.db.QueryRow(ctx, `SELECT `+deliveryColumns+
		` FROM webhook_deliveries WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("webhook: delivery %d of project %d: %w", id, projectID, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("webhook: get delivery: %w", err)
	}
	return d, nil
}

// Purge deletes finished deliveries (succeeded or failed) last updated
// before before, and reports how many.
func (s *Service) Purge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status <> ? AND updated_at < ?`,
			string(StatusPending), ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return n, fmt.Errorf("webhook: purge deliveries: %w", err)
	}
	return n, nil
}

// stored is a delivery with what sending it needs.
type stored struct {
	Delivery
	body        []byte
	contentType string
}

func (s *Service) deliveryForSend(ctx context.Context, id int64) (stored, error) {
	var st stored
	var body string
	var next, created, updated int64
	d := &st.Delivery
	err := s.db.QueryRow(ctx, `SELECT `+deliveryColumns+`, body, content_type FROM webhook_deliveries WHERE id = ?`, id).
		Scan(&d.ID, &d.UUID, &d.ProjectID, &d.PolicyID, &d.EventType, &d.Address, &d.PayloadFormat,
			&d.Test, &d.Status, &d.HTTPStatus, &d.Attempts, &d.LastError, &next, &created, &updated,
			&body, &st.contentType)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromMS(next), fromMS(created), fromMS(updated)
	st.body = []byte(body)
	return st, err
}

// record stores the outcome of attempt n of delivery id, unless an
// attempt as late was recorded already. It reports whether it did.
func (s *Service) record(ctx context.Context, id int64, n int, status DeliveryStatus, httpStatus int, errText string, next time.Time) (bool, error) {
	var changed bool
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, http_status = ?, attempts = ?,
			last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND attempts < ? AND status = ?`,
			string(status), httpStatus, n, truncate(storable(errText), maxErrorText), ms(next), ms(s.now()), id, n, string(StatusPending))
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		changed = m > 0
		return err
	})
	return changed, err
}

// drop marks a pending delivery failed without an attempt.
func (s *Service) drop(ctx context.Context, id int64, why string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, last_error = ?, next_attempt_at = 0,
			updated_at = ? WHERE id = ? AND status = ?`,
			string(StatusFailed), truncate(why, maxErrorText), ms(s.now()), id, string(StatusPending))
		return err
	})
}

// maxErrorText bounds a delivery's LastError.
const maxErrorText = 512

// storable makes text fit a PostgreSQL TEXT column, which refuses NUL
// bytes and invalid UTF-8 (SQLite stores anything).
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
