package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one schema step. Steps are append-only: a released step never changes, and a
// new table or column is a new step. Steps that only add tables, columns or indexes may use
// GORM's AutoMigrate, which is additive and idempotent (it never drops); a step that reshapes
// data is written as explicit SQL, with dialect differences behind the dialect interface.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB, d dialect) error
}

var migrations = []migration{
	{1, "keys, orders, reference images, claims, evidence, responses, analysis jobs, audit log",
		func(tx *gorm.DB, _ dialect) error {
			return tx.AutoMigrate(&keyRow{}, &orderRow{}, &referenceImageRow{}, &claimRow{},
				&evidenceRow{}, &responseRow{}, &jobRow{}, &auditRow{})
		}},
	{2, "decisions, review tasks, rule sets, buyer flags, appeals; claims' ruling columns",
		func(tx *gorm.DB, _ dialect) error {
			return tx.AutoMigrate(&claimRow{}, &decisionRow{}, &taskRow{}, &ruleSetRow{}, &buyerFlagRow{}, &appealRow{})
		}},
}

type migrationRow struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"size:200;not null"`
	AppliedAt time.Time `gorm:"not null"`
}

func (migrationRow) TableName() string { return "schema_migrations" }

// migrate applies the steps the database has not seen, each in its own transaction, under a
// lock so that instances starting together do not race.
func (s *Store) migrate(ctx context.Context) error {
	if err := s.w.WithContext(ctx).AutoMigrate(&migrationRow{}); err != nil {
		return fmt.Errorf("store: creating schema_migrations: %w", err)
	}
	for _, m := range migrations {
		err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := s.d.serialize(tx, "migrations"); err != nil {
				return err
			}
			var n int64
			if err := tx.Model(&migrationRow{}).Where("version = ?", m.version).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := m.up(tx, s.d); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "applied database migration", "version", m.version, "name", m.name, "dialect", s.d.name())
			return tx.Create(&migrationRow{Version: m.version, Name: m.name, AppliedAt: s.now()}).Error
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}
