package chart

import (
	"fmt"
	"os"
	"path/filepath"

	"helm.sh/helm/v3/pkg/provenance"
)

// verifyProvenance checks prov's signature against the keyring and that it
// names archive's sha256 under file (Helm's verifier works on files).
func verifyProvenance(keyring, file string, archive, prov []byte) error {
	sig, err := provenance.NewFromKeyring(keyring, "")
	if err != nil {
		return fmt.Errorf("load keyring: %w", err)
	}
	dir, err := os.MkdirTemp("", "berth-chart-verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	chartPath := filepath.Join(dir, file)
	if err := os.WriteFile(chartPath, archive, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(chartPath+".prov", prov, 0o600); err != nil {
		return err
	}
	if _, err := sig.Verify(chartPath, chartPath+".prov"); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProvenance, err)
	}
	return nil
}
