package seal_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/seal"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, seal.KeySize)
	s, err := seal.New(key)
	require.NoError(t, err)
	sealed, err := s.Seal("hunter2", "label")
	require.NoError(t, err)
	assert.False(t, strings.Contains(sealed, "hunter2"))
	again, err := s.Seal("hunter2", "label")
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a fresh nonce each time")
	got, err := s.Open(sealed, "label")
	require.NoError(t, err)
	assert.Equal(t, "hunter2", got)

	_, err = s.Open(sealed, "other-label")
	assert.ErrorIs(t, err, seal.ErrWrongKey)
	other, err := seal.New(bytes.Repeat([]byte{8}, seal.KeySize))
	require.NoError(t, err)
	_, err = other.Open(sealed, "label")
	assert.ErrorIs(t, err, seal.ErrWrongKey)
	_, err = s.Open("gcm:!!!", "label")
	assert.ErrorIs(t, err, seal.ErrMalformed)
	_, err = s.Open("rot13:uhagre2", "label")
	assert.ErrorIs(t, err, seal.ErrMalformed)

	// No key: marked plain, still readable once a key is configured.
	plain, err := seal.New(nil)
	require.NoError(t, err)
	p, err := plain.Seal("hunter2", "label")
	require.NoError(t, err)
	assert.Equal(t, "plain:hunter2", p)
	got, err = s.Open(p, "label")
	require.NoError(t, err)
	assert.Equal(t, "hunter2", got)
	_, err = plain.Open(sealed, "label")
	assert.ErrorIs(t, err, seal.ErrNoKey)

	empty, err := s.Seal("", "label")
	require.NoError(t, err)
	assert.Empty(t, empty)
	_, err = seal.New([]byte("short"))
	assert.Error(t, err)
}
