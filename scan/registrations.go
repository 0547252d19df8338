package scan

import (
	"context"
	"errors"
	"fmt"
)

const settingDefaultScanner = "default_scanner"

// builtinRegistration describes the scanner given with WithScanner.
func (s *Service) builtinRegistration() Registration {
	return Registration{ID: BuiltinID, Name: s.builtinName, Description: "built-in scanner", Builtin: true}
}

// defaultID is the ID of the default scanner, or "".
func (s *Service) defaultID(ctx context.Context) (string, error) {
	id, err := s.st.setting(ctx, settingDefaultScanner)
	if err != nil || id != "" {
		return id, err
	}
	if s.builtin != nil {
		return BuiltinID, nil
	}
	return "", nil
}

// Scanners lists the registered scanners, the built-in one first, with
// Default set on the default one. Credentials are left out.
func (s *Service) Scanners(ctx context.Context) ([]Registration, error) {
	regs, err := s.st.registrations(ctx)
	if err != nil {
		return nil, err
	}
	if s.builtin != nil {
		regs = append([]Registration{s.builtinRegistration()}, regs...)
	}
	def, err := s.defaultID(ctx)
	if err != nil {
		return nil, err
	}
	for i := range regs {
		regs[i].Default = regs[i].ID == def
		regs[i].Credential = ""
	}
	return regs, nil
}

// Scanner returns one registration, credential left out.
func (s *Service) Scanner(ctx context.Context, id string) (Registration, error) {
	r, err := s.registration(ctx, id)
	r.Credential = ""
	return r, err
}

// registration returns a registration with its credential.
func (s *Service) registration(ctx context.Context, id string) (Registration, error) {
	var r Registration
	if id == BuiltinID {
		if s.builtin == nil {
			return r, fmt.Errorf("scan: scanner %q: %w", id, ErrNotFound)
		}
		r = s.builtinRegistration()
	} else {
		var err error
		if r, err = s.st.registration(ctx, id); err != nil {
			return r, err
		}
	}
	def, err := s.defaultID(ctx)
	r.Default = r.ID == def
	return r, err
}

// AddScanner registers a Harbor pluggable scanner adapter. The first one
// registered while there is no built-in scanner becomes the default.
func (s *Service) AddScanner(ctx context.Context, r Registration) (Registration, error) {
	if err := r.validate(); err != nil {
		return r, err
	}
	r.ID, r.Builtin = newID(), false
	r.CreatedAt = s.now().UTC()
	r.UpdatedAt = r.CreatedAt
	if err := s.st.putRegistration(ctx, r, true); err != nil {
		return r, err
	}
	// Without a built-in scanner and a stored default there is no
	// default (defaultID): this one becomes it, unless another does first.
	if r.Default || s.builtin == nil {
		if err := s.st.setDefaultScanner(ctx, r.ID, !r.Default); err != nil {
			return r, err
		}
	}
	return s.Scanner(ctx, r.ID)
}

// UpdateScanner replaces an adapter's registration; an empty credential
// keeps the stored one, unless the URL moves to another origin (ErrInvalid:
// the credential must come again).
func (s *Service) UpdateScanner(ctx context.Context, id string, r Registration) (Registration, error) {
	if id == BuiltinID {
		return r, fmt.Errorf("%w: the built-in scanner cannot be changed", ErrInvalid)
	}
	old, err := s.st.registration(ctx, id)
	if err != nil {
		return r, err
	}
	if err := keepCredential(old, &r); err != nil {
		return r, err
	}
	if err := r.validate(); err != nil {
		return r, err
	}
	r.ID, r.CreatedAt, r.UpdatedAt = id, old.CreatedAt, s.now().UTC()
	if err := s.st.putRegistration(ctx, r, false); err != nil {
		return r, err
	}
	if r.Default {
		if err := s.SetDefaultScanner(ctx, id); err != nil {
			return r, err
		}
	}
	return s.Scanner(ctx, id)
}

// DeleteScanner removes an adapter's registration; projects that used it
// fall back to the default.
func (s *Service) DeleteScanner(ctx context.Context, id string) error {
	if id == BuiltinID {
		return fmt.Errorf("%w: the built-in scanner cannot be removed", ErrInvalid)
	}
	return s.st.deleteRegistration(ctx, id)
}

// SetDefaultScanner makes a registered scanner the default.
func (s *Service) SetDefaultScanner(ctx context.Context, id string) error {
	r, err := s.registration(ctx, id)
	if err != nil {
		return err
	}
	if r.Disabled {
		return fmt.Errorf("%w: scanner %q is disabled", ErrInvalid, r.Name)
	}
	return s.st.setDefaultScanner(ctx, id, false)
}

// ProjectScanner returns the scanner a project uses: its own choice, else
// the default. ErrNoScanner when there is none.
func (s *Service) ProjectScanner(ctx context.Context, project string) (Registration, error) {
	pid, err := s.projectID(ctx, project)
	if err != nil {
		return Registration{}, err
	}
	id, err := s.st.projectScanner(ctx, pid)
	if err != nil {
		return Registration{}, err
	}
	if id == "" {
		if id, err = s.defaultID(ctx); err != nil {
			return Registration{}, err
		}
	}
	if id == "" {
		return Registration{}, fmt.Errorf("scan: project %q: %w (register a scanner adapter or configure a built-in scanner)", project, ErrNoScanner)
	}
	r, err := s.Scanner(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("scan: project %q uses scanner %q, which no longer exists: %w", project, id, ErrNoScanner)
	}
	return r, err
}

// SetProjectScanner makes a project use scanner id ("" : the default).
func (s *Service) SetProjectScanner(ctx context.Context, project, id string) error {
	pid, err := s.projectID(ctx, project)
	if err != nil {
		return err
	}
	if id != "" {
		if _, err := s.registration(ctx, id); err != nil {
			return err
		}
	}
	return s.st.setProjectScanner(ctx, pid, id)
}

// ScannerMetadata asks a registered scanner for its metadata (a
// connection test for adapters).
func (s *Service) ScannerMetadata(ctx context.Context, id string) (Metadata, error) {
	r, err := s.registration(ctx, id)
	if err != nil {
		return Metadata{}, err
	}
	sc, err := s.scannerFor(r)
	if err != nil {
		return Metadata{}, err
	}
	return probeMetadata(ctx, sc, r)
}

// PingScanner asks an unregistered adapter for its metadata, to test a
// registration before it is added.
func (s *Service) PingScanner(ctx context.Context, r Registration) (Metadata, error) {
	if err := r.validate(); err != nil {
		return Metadata{}, err
	}
	sc, err := s.scannerFor(r)
	if err != nil {
		return Metadata{}, err
	}
	return probeMetadata(ctx, sc, r)
}

// scannerFor turns a registration into a Scanner.
func (s *Service) scannerFor(r Registration) (Scanner, error) {
	if r.Builtin || r.ID == BuiltinID {
		if s.builtin == nil {
			return nil, ErrNoScanner
		}
		return s.builtin, nil
	}
	if r.Disabled {
		return nil, fmt.Errorf("scan: scanner %q is disabled: %w", r.Name, ErrNoScanner)
	}
	if s.dial == nil {
		return nil, fmt.Errorf("scan: scanner %q: adapters are not enabled in this server: %w", r.Name, ErrUnsupported)
	}
	return s.dial(r)
}

// sourceFor tells scanner r where to read artifact a.
func (s *Service) sourceFor(ctx context.Context, r Registration, a Artifact) (Source, func(), error) {
	if r.Builtin || r.ID == BuiltinID {
		if s.transport == nil {
			return Source{}, nil, errors.New("scan: no registry transport configured (WithRegistry)")
		}
		return s.ownSource(), nil, nil
	}
	if s.source == nil {
		return Source{}, nil, fmt.Errorf("scan: no registry address for external scanners: %w", ErrUnsupported)
	}
	return s.source(ctx, r, a)
}

func (s *Service) ownSource() Source {
	return Source{Registry: s.host, Transport: s.transport, Insecure: true}
}
