package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm/logger"
)

// queryLogger is GORM's logger for this package: it reports slow statements, without their
// bound values (they carry buyers' text and key hashes). Failed statements are not logged
// here: the error is translated and returned, and whoever decides it is a fault logs it, so an
// expected conflict (a duplicate external id, say) does not show up as a database error.
type queryLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func (l queryLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l queryLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(msg, args...))
}

func (l queryLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}

func (l queryLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

func (l queryLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	if d := time.Since(begin); d >= l.slow {
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow database statement", "sql", sql, "rows", rows, "seconds", d.Seconds())
	}
}

// ParamsFilter keeps bound values out of the logged SQL.
func (l queryLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
