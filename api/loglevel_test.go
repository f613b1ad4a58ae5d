package api

import (
	"log/slog"
	"net/http"
	"testing"
)

func TestLevelFor(t *testing.T) {
	retry := http.Header{"Retry-After": {"1"}}
	tests := []struct {
		status int
		header http.Header
		want   slog.Level
	}{
		{200, nil, slog.LevelInfo},
		{404, nil, slog.LevelInfo},
		{429, retry, slog.LevelInfo},
		{503, retry, slog.LevelWarn}, // asked to retry on purpose
		{503, nil, slog.LevelError},
		{500, retry, slog.LevelError},
	}
	for _, tc := range tests {
		if got := levelFor(tc.status, tc.header); got != tc.want {
			t.Errorf("levelFor(%d, %v) = %s, want %s", tc.status, tc.header, got, tc.want)
		}
	}
}
