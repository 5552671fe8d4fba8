"""Header routing for lanes: ALB listener-rule conditions, priorities, capacity.

Pure functions (no Pulumi), one module per concern: ``carriers`` (the headers
that name a lane and their rule conditions), ``priorities`` (bands, slots,
allocation, capacity), ``rules`` (what an ALB rule is, when its conditions
hold, reading rules back from ``describe_rules``), ``limits`` (ALB quotas) and
``weighted`` (progressive promotion's weighted catch-all rule, issue #15).
The lane layer turns their results into ``aws.lb.ListenerRule`` resources,
the runner calls ``priorities.allocate_priorities`` against the live listener,
and the tests replay the rules through ``harness.alb_eval``.

The routing rule (docs/contract.md, "Lanes and routing"): a request reaches
lane X exactly when its W3C ``tracestate`` holds the list member ``ctx=lane:X``
at any position. Not when X is only a prefix of the member's lane
(``ctx=lane:gray2`` for gray), not when the key only ends in ``ctx``
(``xctx=lane:gray``). Everything unmatched falls through to the listener's
default action, the default lane.

Why a regex and not ALB wildcards: ``values`` match the WHOLE header value with
``*`` and ``?`` only. ``*ctx=lane:gray*`` also matches ``gray2`` and ``xctx``;
the exact forms (``ctx=lane:gray``, ``ctx=lane:gray,*``, ``*,ctx=lane:gray``,
``*,ctx=lane:gray,*``) miss the optional spaces and tabs W3C allows around
commas (``*, ctx=...`` would need one pattern per whitespace run, and ``?``
would accept ``xctx``). A rule takes at most 3 values per condition, 5 per rule
and 5 wildcards, so wildcards cannot express the rule at all. One
``regex_values`` entry can:

    ^(.*,)?[ \\t]*ctx=lane:gray[ \\t]*(,.*)?$

The member is preceded by the start of the value or a comma (plus optional
whitespace) and followed by optional whitespace and then a comma or the end.
The pattern is anchored at both ends, so it routes the same whether ALB
matches a regex against the whole value or searches for it inside the value
(AWS documents neither). It uses no lookaround, backreference or other
feature ALB rejects, and at most 35 + len(lane) <= 75 characters (limit 128).

Several header lines: AWS documents for http-header conditions that "if the
same header appears multiple times in the request, we search them in order
until a match is found", i.e. each line is matched on its own. W3C lets a
sender split tracestate over several lines only at member boundaries, so a
member is always whole within one line; the pattern matches the line holding
it, and also matches the lines joined with commas (what a proxy in front of
the ALB may do). We assume regex_values follow the same per-line search as
values. ``alb_eval`` replays both readings.

Case: W3C tracestate keys are lower case and lane names are lower case.
ALB compares ``values`` case-insensitively but does not document the case
rule for regexes, so an upper-case variant (``CTX=LANE:GRAY``) reaches gray
or the default lane depending on that undocumented rule, never another lane.
Send lower case.

Carriers are rows of the table ``carriers.CARRIERS`` (header, member,
pattern, band); everything below reads it. ``tracestate`` always; ``baggage`` (W3C Baggage, member
``lane=X`` with optional ``;properties``) optionally per service
(``laneCarriers`` in ``params/{service}-{env}.json``). Two http-header
conditions in one rule are ANDed, so each carrier needs its own rule: a lane
costs one listener rule per carrier. Capacity per service (one ALB each):
target groups are capped at 100 per ALB (fixed), one is the default lane's,
so at most 99 other lanes; rules are capped at 100 per ALB (adjustable), so
tracestate alone allows 99 lanes and tracestate + baggage allows 50.

Priorities. Each carrier's entry holds its band: tracestate rules live in
1000..20999, baggage rules in 21000..40999, at the same offset (the lane's
slot, 0..19999; a band shorter than 20000 wraps it, which is how a third
carrier fits the free 41000..50000 without moving any existing priority). So every
tracestate rule is evaluated before every baggage rule: a request whose two
headers name different lanes goes where tracestate says. 1..999 and
50000 are never allocated (room for operators' own rules); 41000..44999
holds lanes' optional cookie rules (``cookie.COOKIE_BAND``) and
45000..49999 progressive promotion's weighted rule (``weighted.WEIGHTED_BAND``,
after every header rule). A lane's
home slot is a hash of service and lane, so a redeploy gets the same
priority with no state. When the home slot is held by another lane (a hash
collision, or a hand-made rule), the probe sequence home, home+1, home+2, ...
(mod the band) finds the first free slot; the runner computes that from the
listener's live rules (``taken``) and pins it as ``multilane:priority`` in the
lane's stack config, so later deploys keep it. Two lanes created at the same
moment may both pick one free slot: one ``CreateRule`` fails with
PriorityInUse, and the runner re-reads ``taken`` and allocates again (the
winner's slot is now taken, the loser moves on along its own probe
sequence). No lock between lane stacks is needed.
"""

from . import carriers, cookie, limits, priorities, rules, weighted

__all__ = ["carriers", "cookie", "limits", "priorities", "rules", "weighted"]
