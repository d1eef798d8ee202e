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
	{3, "review task exclusions: every reviewer a task bars (four eyes, appeals)", migrateTaskExclusions},
}

// migrateTaskExclusions moves the bars of existing tasks to review_task_exclusions. Version 2
// kept one barred reviewer per task in review_tasks.exclude_reviewer, and an appeal task
// barred only the last person who ruled on the claim. Now an appeal task bars everyone who
// ruled on the claim before it (on an older task; by their latest ruling), every unfinished
// later task of the claim bars them too, as the service does for new tasks, and the old
// column's reviewer comes last. A lease that a reviewer barred now holds is released, so
// the task goes to someone else.
func migrateTaskExclusions(tx *gorm.DB, _ dialect) error {
	if err := tx.AutoMigrate(&taskExclusionRow{}); err != nil {
		return err
	}
	for _, stmt := range []string{
		`INSERT INTO review_task_exclusions (task_id, reviewer, ordinal)
		 SELECT a.id, d.decided_by, MAX(d.seq) FROM review_tasks a
		 JOIN decisions d ON d.claim_id = a.claim_id JOIN review_tasks dt ON dt.id = d.task_id
		 WHERE a.kind = 'appeal' AND dt.seq < a.seq AND d.decided_by <> 'rules' AND d.outcome <> ''
		 GROUP BY a.id, d.decided_by`,
		`INSERT INTO review_task_exclusions (task_id, reviewer, ordinal)
		 SELECT t.id, x.reviewer, x.ordinal FROM review_tasks t
		 JOIN review_tasks a ON a.claim_id = t.claim_id AND a.kind = 'appeal' AND a.seq < t.seq
		 JOIN review_task_exclusions x ON x.task_id = a.id
		 WHERE t.state <> 'done'`,
		`INSERT INTO review_task_exclusions (task_id, reviewer, ordinal)
		 SELECT t.id, t.exclude_reviewer, COALESCE((SELECT MAX(x.ordinal) FROM review_task_exclusions x WHERE x.task_id = t.id), -1) + 1
		 FROM review_tasks t
		 WHERE t.exclude_reviewer <> '' AND NOT EXISTS (SELECT 1 FROM review_task_exclusions x
		   WHERE x.task_id = t.id AND x.reviewer = t.exclude_reviewer)`,
		`UPDATE review_tasks SET state = 'open', leased_by = '', lease_expires_at = NULL
		 WHERE state = 'leased' AND EXISTS (SELECT 1 FROM review_task_exclusions x
		   WHERE x.task_id = review_tasks.id AND x.reviewer = review_tasks.leased_by)`,
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
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
