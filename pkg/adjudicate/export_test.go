package adjudicate

import "github.com/refundguard/refundguard/pkg/hashindex"

// DuplicateIndexStats describes s's duplicate-evidence index (zero until it is built), so
// tests outside the package can tell a photo added twice (Removed counts replaced hashes).
func DuplicateIndexStats(s *Service) hashindex.Stats {
	s.dups.mu.Lock()
	defer s.dups.mu.Unlock()
	if s.dups.ix == nil {
		return hashindex.Stats{}
	}
	return s.dups.ix.Stats()
}
