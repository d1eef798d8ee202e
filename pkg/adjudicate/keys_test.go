package adjudicate_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

func TestKeys(t *testing.T) {
	outer := t
	h := newHarness(t)
	ctx := context.Background()
	key, secret, err := h.svc.CreateKey(ctx, admin, claim.RoleMerchant, " m1 ")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the secret authenticates as the key's principal", func(t *testing.T) {
		p, err := h.svc.Authenticate(ctx, secret)
		if err != nil || p != (claim.Principal{KeyID: key.ID, Role: claim.RoleMerchant, Subject: "m1"}) {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	})
	t.Run("only the hash is stored", func(t *testing.T) {
		if key.Hash != adjudicate.HashSecret(secret) {
			t.Fatalf("stored hash %s is not sha256 of the secret", key.Hash)
		}
		h.store.Close() // flush: the secret must be in neither the database nor its WAL
		for _, name := range []string{"refundguard.db", "refundguard.db-wal"} {
			b, _ := os.ReadFile(filepath.Join(h.dataDir, name))
			if bytes.Contains(b, []byte(secret)) {
				t.Fatalf("the secret is stored in plain text in %s", name)
			}
		}
		h = startHarness(outer, h.dsn, h.dataDir) // the rest of the test runs on a reopened store
	})
	t.Run("bad secrets are all unauthenticated", func(t *testing.T) {
		for _, s := range []string{"", "rg_", secret + "x", secret[:len(secret)-1], "Bearer " + secret,
			string(bytes.Repeat([]byte("a"), 10_000))} {
			_, err := h.svc.Authenticate(ctx, s)
			wantCode(t, err, claim.CodeUnauthenticated, "")
		}
	})
	t.Run("only admins create and revoke keys", func(t *testing.T) {
		for _, p := range []claim.Principal{buyer1, merchant1, reviewer} {
			_, _, err := h.svc.CreateKey(ctx, p, claim.RoleAdmin, "x")
			wantCode(t, err, claim.CodeForbidden, "")
			wantCode(t, h.svc.RevokeKey(ctx, p, key.ID), claim.CodeForbidden, "")
		}
	})
	t.Run("bad role or subject", func(t *testing.T) {
		for _, tc := range []struct {
			role    claim.Role
			subject string
			field   string
		}{
			{"root", "x", "role"},
			{claim.RoleBuyer, "  ", "subject"},
			{claim.RoleBuyer, "a\x00b", "subject"},
			{claim.RoleBuyer, string(bytes.Repeat([]byte("x"), 201)), "subject"},
		} {
			_, _, err := h.svc.CreateKey(ctx, admin, tc.role, tc.subject)
			wantCode(t, err, claim.CodeInvalid, tc.field)
		}
	})
	t.Run("a revoked key no longer authenticates", func(t *testing.T) {
		if err := h.svc.RevokeKey(ctx, admin, key.ID); err != nil {
			t.Fatal(err)
		}
		_, err := h.svc.Authenticate(ctx, secret)
		wantCode(t, err, claim.CodeUnauthenticated, "")
		if err := h.svc.RevokeKey(ctx, admin, key.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		events, _ := h.store.AuditEvents(ctx, "key", key.ID)
		if len(events) != 2 || events[0].Action != "key.created" || events[1].Action != "key.revoked" {
			t.Fatalf("key audit trail: %+v", events)
		}
	})
	t.Run("revoking an unknown key is not found", func(t *testing.T) {
		wantCode(t, h.svc.RevokeKey(ctx, admin, "key_nope"), claim.CodeNotFound, "")
	})
	t.Run("a key cannot revoke itself", func(t *testing.T) {
		k, s, err := h.svc.CreateKey(ctx, admin, claim.RoleAdmin, "ops")
		if err != nil {
			t.Fatal(err)
		}
		p, err := h.svc.Authenticate(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.svc.RevokeKey(ctx, p, k.ID), claim.CodeConflict, "")
	})
}
