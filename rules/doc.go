// Package rules routes refund claims by explainable rule sets. It imports no project
// package, so it can be used and tested alone.
//
// A rule set is a YAML document:
//
//	name: default
//	version: "2025.1"            # the author's label
//	merchant_response_window: 48h
//	fallback: review             # the route when no rule matches (never approve)
//	rules:
//	  - id: high-value-claim
//	    description: Claims of 3,000 CNY or more go to a reviewer.
//	    when: claim.currency == "CNY" and claim.amount >= 300000
//	    route: review            # approve | request_evidence | await_merchant | review | review_priority
//	    score: 20                # optional; matching scores add up
//
// Expressions are github.com/expr-lang/expr, compiled once against Facts and required to be
// boolean. Compile refuses a set with unknown fields, type errors, duplicate ids, unknown
// routes (there is no reject route: only a person rejects) or no fallback, with a
// *CompileError naming every offending rule. Fields lists the facts; the README carries the
// same table.
//
// Evaluate runs every rule and records each one's outcome and the values of the facts it
// reads (found by walking the compiled syntax tree), so a reviewer can read why. The most
// severe route among matching rules wins (approve < request_evidence < await_merchant <
// review < review_priority); nothing matching means the fallback; a rule failing at run time
// sends the claim at least to review. Results carry the set's Version, a SHA-256 of its YAML.
//
// Using it from the service:
//
//	set, err := rules.LoadDefault()              // or rules.LoadFile(path), rules.Compile(yamlFromDB)
//	facts := rules.Facts{Claim: ..., Order: ..., Buyer: ..., Merchant: ...}
//	facts.Evidence = rules.SummarizeEvidence(reports) // reports: the buyer's photos' forensic JSON
//	res := set.Evaluate(facts)
//	// store res.Route, res.RuleSetVersion and res.Hits (each Hit maps onto claim.RuleHit)
//
// Backtest replays history ([]HistoryRecord: facts, the route taken, the final outcome) through
// a draft set and reports route changes, a confusion matrix against final outcomes, and the
// precision and recall of "sent to review" against rejections, for the routes actually taken
// and for the draft. ReadHistory reads such records from JSON lines.
//
// A *RuleSet is immutable and safe for concurrent use.
package rules
