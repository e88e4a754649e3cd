package targets

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resolveCase resolves spec with s for a table row: when the row wants an
// error (wantErr, refused or not) it checks it and returns false; otherwise
// it requires success and returns the targets.
func resolveCase(t *testing.T, s Resolver, spec Spec, wantErr string, refused bool) ([]Target, bool) {
	t.Helper()
	got, err := s.Resolve(context.Background(), spec)
	if wantErr != "" {
		require.Error(t, err)
		assert.Contains(t, err.Error(), wantErr)
		assert.Equal(t, refused, errors.Is(err, ErrRefused), "%v", err)
		return nil, false
	}
	require.NoError(t, err)
	return got, true
}
