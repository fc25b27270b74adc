/*
 * vigil.pml - Promela model of the mirroring and failover protocol of
 * DESIGN.md section 3: primary/backup replication with an external
 * configuration master (the shape of Vertical Paxos II), the witness being
 * the master. The witness's rules are those of docs/cluster.md as coded in
 * src/witness/rules.c (vg_witness_decide).
 *
 * Processes: Member(0) = dc1, Member(1) = dc2, Witness, and Env (crashes,
 * restarts, partitions). README.md next to this file says what is modelled,
 * what is abstracted and why, the obligations the C code must meet for this
 * model to describe it, and the numbers measured. tests/model/spin.sh runs it.
 *
 * Properties (assertions, evaluated in every step that can break them):
 *   prop1_one_primary_per_epoch  never two members commit as primary in
 *                                the same epoch;
 *   prop2_committed_kept         every committed record is in the log of
 *                                the primary of every later epoch (checked
 *                                when it takes over), a committing primary's
 *                                log agrees with everything committed so far
 *                                (committed records are never replaced), and
 *                                no member ever truncates a committed record;
 *   prop3_sync_agree             every member of the witness's sync set
 *                                holds the committed prefix, record for
 *                                record, so their logs agree on it;
 *   prop4_one_acting_primary     when a member takes over, the other is not
 *                                acting as primary: what the lease buys (with
 *                                NO_LEASE this fails and 1-3 still hold);
 *   log_matching                 two records with the same (index, epoch)
 *                                are the same record: what lets members find
 *                                the divergence point by (epoch, index).
 * "Committed" is a ghost: clog[0..K) are the committed records by index,
 * owner[e] the member that committed in epoch e.
 *
 * Broken variants; each makes spin find a violation (tests/model/spin.sh):
 *   BUG_COMMIT_WITHOUT_MIRROR_ACK     commit when durable locally only
 *   BUG_PROMOTE_WITHOUT_WITNESS_RULE  the witness promotes without rule 1
 *                                     (target not in sync, primary heard)
 *   BUG_SELF_PROMOTE                  a mirror that lost the primary makes
 *                                     itself primary of epoch+1 on its own
 *   BUG_NO_FENCING                    mirrors accept records of an epoch
 *                                     lower than the highest they have seen
 *   BUG_RESTORE_BEFORE_CATCHUP        restore asked before the mirror acked
 *                                     the primary's whole log
 *   BUG_COMMIT_ALONE_DURING_RESTORE   the primary goes on committing alone
 *                                     while its restore may still be applied
 *   BUG_PENDING_VOLATILE              "a change I asked for may still be
 *                                     applied" is forgotten in a crash
 *   BUG_RESUME_DURING_SWITCHOVER      a primary that asked for a switchover
 *                                     resumes while the witness may still
 *                                     apply it
 * Other switches:
 *   NO_LEASE        the witness may time out a primary that has not stepped
 *                   down yet (no lease, or lease >= dead_after)
 *   NO_P1 .. NO_P4  leave that property's assertions out
 *   REACH_FAILOVER, REACH_TRUNCATE, REACH_SWITCHBACK, REACH_LATE_RESTORE
 *                   assert that an interesting situation never happens, so
 *                   that spin shows it does (the model is not vacuous)
 *   NOHIDDEN        keep the scratch variables in the state (for pan -DBFS)
 *   MAXE, MAXR      bounds: highest epoch, records appended in a run (the
 *                   defaults, 4 and 3, are too big for the test, which
 *                   passes its own)
 */

#ifndef MAXE
#define MAXE 4          /* epochs 1..MAXE: the witness makes MAXE-1 changes */
#endif
#ifndef MAXR
#define MAXR 3          /* records appended in a whole run: ids 1..MAXR */
#endif

#define O(m)      (1 - (m))
#define BIT(m)    (1 << (m))
#define LM        lk[0]             /* link dc1 <-> dc2 */
#define LW(m)     lk[1 + (m)]       /* link member m <-> witness */

/* witness ops (docs/cluster.md); bootstrap is the initial state, force
 * (rule 4) is left out */
mtype = { PROMOTE, DEGRADE, RESTORE }

/* ================================================================ state */

typedef Mem {
    /* durable: survives a crash */
    byte log[MAXR];   /* record ids, 0 = empty slot */
    byte n;           /* records in log */
    byte hi;          /* highest epoch seen (fencing) */
    mtype pend;       /* RESTORE or PROMOTE: a change I asked for at epoch hi
                       * may still be applied by the witness; 0: none */
    /* volatile: lost in a crash */
    bool up;
    bool prim;        /* acting as primary of epoch hi */
    byte psync;       /* the sync set of epoch hi (primary only) */
    byte match;       /* mirror's log equals mine on [0, match) (primary only) */
};

Mem mem[2];
byte rep[MAXR + 1];   /* epoch tag of each record id, set when appended */
byte nrec;            /* records appended so far */

/* the witness's C = (epoch, primary, sync), stored durably; the witness
 * itself never loses it (a witness that is down is one cut off from both) */
byte cE = 1;
byte cP = 0;
byte cS = 1;          /* bitmask of members */

bool lk[3];           /* links up: dc1-dc2, dc1-witness, dc2-witness */

/* ghosts */
byte clog[MAXR];      /* committed records by index */
byte K;               /* clog[0..K) is committed */
byte owner[MAXE + 1]; /* 1 + the member that committed in epoch e, 0 = none */

/* Messages that can be delayed: APPENDs to a member and change requests to
 * the witness, one in flight per channel. A send over a broken link, to a
 * crashed member or to a full channel is lost, and sending is optional
 * anyway, which is message loss. A crash empties the member's inbox. */
chan app[2]  = [1] of { byte, byte, byte, byte }; /* to m: epoch, index, record id, prev epoch tag */
chan wreq[2] = [1] of { byte, mtype, byte };       /* from m: expect_epoch, op, target */

/* scratch, used only inside atomic steps: not part of the state
 * (-DNOHIDDEN keeps them in it, which pan's BFS, for short trails, needs) */
#ifdef NOHIDDEN
#define hidden
#endif
hidden byte t_e, t_i, t_id, t_pt, t_n, t_tg, t_j;
hidden mtype t_op;
hidden byte prop1_one_primary_per_epoch, prop2_committed_kept, prop3_sync_agree;
hidden byte prop4_one_acting_primary, log_matching;
hidden byte reached_failover, reached_truncate, reached_switchback, reached_late_restore;

/* =============================================================== checks */

/* prop3: every member of the witness's sync set holds clog[0..K) */
inline check_sync()
{
    skip;
#ifndef NO_P3
    t_j = 0;
    do
    :: t_j < K ->
        prop3_sync_agree =
            (!(cS & 1) || (mem[0].n > t_j && mem[0].log[t_j] == clog[t_j])) &&
            (!(cS & 2) || (mem[1].n > t_j && mem[1].log[t_j] == clog[t_j]));
        assert(prop3_sync_agree);
        t_j++
    :: else -> break
    od;
    t_j = 0
#endif
}

/* when m takes over as primary of the witness's current epoch:
 * prop2: it holds every record committed so far (all of them in earlier
 * epochs, or by itself in this one);
 * prop4: the other member is not acting as primary */
inline check_takeover(m)
{
    skip;
#ifndef NO_P4
    prop4_one_acting_primary = !mem[O(m)].prim;
    assert(prop4_one_acting_primary);
#endif
#ifndef NO_P2
    t_j = 0;
    do
    :: t_j < K ->
        prop2_committed_kept = mem[m].n > t_j && mem[m].log[t_j] == clog[t_j];
        assert(prop2_committed_kept);
        t_j++
    :: else -> break
    od;
    t_j = 0
#endif
}

/* ============================================================== helpers */

inline stepdown(m)
{
    mem[m].prim = 0;
    mem[m].psync = 0;
    mem[m].match = 0
}

/* m learns that epoch e exists (from the witness or from its peer) */
inline raise_hi(m, e)
{
    mem[m].hi = e;
    mem[m].pend = 0;    /* the witness is past the epoch my request expected */
    stepdown(m)
}

/* a primary that stepped down for a switchover may still be replaced */
#ifdef BUG_RESUME_DURING_SWITCHOVER
#define RESUME_OK(m) 1
#else
#define RESUME_OK(m) (mem[m].pend != PROMOTE)
#endif

/* m learns C = (e, p, s) from the witness: a heartbeat answer or the
 * answer to its change request (both carry C) */
inline learn(m, e, p, s)
{
    if
    :: e > mem[m].hi && p == m && mem[m].prim ->
        /* my own degrade or restore went through */
        printf("MSC: dc%d primary of epoch %d, sync %d\n", m + 1, e, s);
        mem[m].hi = e; mem[m].pend = 0; mem[m].psync = s;
        check_takeover(m)
    :: e > mem[m].hi && p == m && !mem[m].prim ->
        printf("MSC: dc%d takes over as primary of epoch %d, sync %d\n", m + 1, e, s);
        raise_hi(m, e); mem[m].prim = 1; mem[m].psync = s;
        check_takeover(m)
    :: e > mem[m].hi && p != m ->
        printf("MSC: dc%d learns epoch %d (primary dc%d, was acting %d)\n", m + 1, e, p + 1,
               mem[m].prim);
        raise_hi(m, e)
    :: e == mem[m].hi && p == m && !mem[m].prim && RESUME_OK(m) ->
        /* resume in the same epoch after a restart or a step-down: the
         * witness refuses to "promote" the primary, so there is no other
         * way back; a pending restore, being durable, is still honoured */
        printf("MSC: dc%d resumes as primary of epoch %d, sync %d\n", m + 1, e, s);
        mem[m].prim = 1; mem[m].psync = s; mem[m].match = 0;
        check_takeover(m)
    :: else -> skip
    fi
}

/* mirror m answers an APPEND of epoch e: ACK through upto (> 0), or REJECT
 * (upto == 0, e = my epoch). The answer arrives at once or is lost. */
inline reply(m, e, upto)
{
    if
    :: LM && mem[O(m)].up ->
        if
        :: e > mem[O(m)].hi ->          /* a newer epoch exists: step down */
            printf("MSC: dc%d rejected by dc%d at epoch %d, steps down\n", O(m) + 1, m + 1, e);
            raise_hi(O(m), e)
        :: e == mem[O(m)].hi && mem[O(m)].prim && upto > mem[O(m)].match ->
            mem[O(m)].match = upto
        :: else -> skip
        fi
    :: true -> skip     /* lost */
    fi
}

/* m truncates its log to keep records (its divergent tail) */
inline truncate(m, keep)
{
#ifdef REACH_TRUNCATE
    /* an old primary cuts an uncommitted tail above a committed prefix */
    reached_truncate = keep < mem[m].n && K > 0 && keep >= K;
    assert(!reached_truncate);
#endif
    t_j = keep;
    do
    :: t_j < mem[m].n ->
#ifndef NO_P2
        prop2_committed_kept = !(t_j < K && mem[m].log[t_j] == clog[t_j]);
        assert(prop2_committed_kept);
#endif
        printf("MSC: dc%d truncates r%d (index %d)\n", m + 1, mem[m].log[t_j], t_j);
        mem[m].log[t_j] = 0;
        t_j++
    :: else -> break
    od;
    mem[m].n = keep;
    t_j = 0
}

/* how far the primary m may commit: what every member of its sync set
 * holds durably, and while a restore of its own may still be applied, the
 * mirror counts as in sync already */
#ifdef BUG_COMMIT_WITHOUT_MIRROR_ACK
#define NEEDACK(m) 0
#elif defined(BUG_COMMIT_ALONE_DURING_RESTORE)
#define NEEDACK(m) ((mem[m].psync & BIT(O(m))) != 0)
#else
#define NEEDACK(m) ((mem[m].psync & BIT(O(m))) != 0 || mem[m].pend == RESTORE)
#endif
#define CK(m) (NEEDACK(m) -> (mem[m].match < mem[m].n -> mem[m].match : mem[m].n) : mem[m].n)

inline commit(m)
{
    t_n = CK(m);
    printf("MSC: dc%d commits through index %d in epoch %d\n", m + 1, t_n - 1, mem[m].hi);
#ifndef NO_P1
    prop1_one_primary_per_epoch = owner[mem[m].hi] == 0 || owner[mem[m].hi] == m + 1;
    assert(prop1_one_primary_per_epoch);
#endif
#ifdef REACH_FAILOVER
    /* dc2 commits everything alone after dc1 failed */
    reached_failover = m == 1 && t_n == MAXR && mem[1].psync == BIT(1);
    assert(!reached_failover);
#endif
#ifdef REACH_SWITCHBACK
    /* dc1 commits again after dc2 was primary and committed */
    reached_switchback = m == 0 && mem[0].hi > 2 && owner[mem[0].hi - 1] == 2;
    assert(!reached_switchback);
#endif
    owner[mem[m].hi] = m + 1;
    t_j = 0;
    do
    :: t_j < t_n && t_j < K ->
#ifndef NO_P2
        prop2_committed_kept = mem[m].log[t_j] == clog[t_j];
        assert(prop2_committed_kept);
#endif
        t_j++
    :: t_j < t_n && t_j >= K ->
        clog[t_j] = mem[m].log[t_j]; t_j++
    :: else -> break
    od;
    K = t_n;
    t_j = 0; t_n = 0;
    check_sync()
}

/* Rule 1's "the witness has not heard the primary p for dead_after": p is
 * down or cut off from the witness. The lease (lease < dead_after, and the
 * mirror asks only once it has not heard p for lease either): by then p,
 * having heard neither, has stepped down. So the witness's timeout can
 * only fire once p is no longer acting. */
#ifdef NO_LEASE
#define LEASE_OVER(p) 1
#else
#define LEASE_OVER(p) (!mem[p].prim)
#endif
#define NOT_HEARD(p) ((!mem[p].up || !LW(p)) && LEASE_OVER(p))

/* the witness decides a change request of member c: compare-and-set on
 * the epoch, rules 1-3 (force, rule 4, is not modelled) */
inline decide(c)
{
    if
    :: t_e == cE && cE < MAXE ->
        if
#ifdef BUG_PROMOTE_WITHOUT_WITNESS_RULE
        :: t_op == PROMOTE && t_tg != cP ->
            cS = BIT(t_tg) | (c == cP -> BIT(cP) : 0); cP = t_tg; cE++
#else
        :: t_op == PROMOTE && t_tg != cP && (cS & BIT(t_tg)) && c == cP ->
            cS = BIT(t_tg) | BIT(cP); cP = t_tg; cE++      /* planned switchover */
        :: t_op == PROMOTE && t_tg != cP && (cS & BIT(t_tg)) && c != cP && NOT_HEARD(cP) ->
            cS = BIT(t_tg); cP = t_tg; cE++                /* failover */
#endif
        :: t_op == DEGRADE && c == cP && cS != BIT(cP) ->
            cS = BIT(cP); cE++
        :: t_op == RESTORE && c == cP && t_tg != cP && !(cS & BIT(t_tg)) ->
#ifdef REACH_LATE_RESTORE
            /* a restore applied while its sender holds records the mirror
             * has not acked (appended after it asked: pend protects them) */
            reached_late_restore = mem[c].prim && mem[c].match < mem[c].n;
            assert(!reached_late_restore);
#endif
            cS = cS | BIT(t_tg); cE++
        :: else -> skip                                    /* 409 */
        fi
    :: else -> skip                                        /* 409: stale expect_epoch */
    fi;
    printf("MSC: witness: dc%d asks %e dc%d at epoch %d -> C = (%d, dc%d, sync %d)\n",
           c + 1, t_op, t_tg + 1, t_e, cE, cP + 1, cS);
    check_sync();
    if
    :: mem[c].up && LW(c) -> learn(c, cE, cP, cS)      /* the answer carries C */
    :: true -> skip                                     /* lost */
    fi
}

/* ============================================================ processes */

proctype Member(byte m)
{
    do
    /* primary: append a record tagged with its epoch, durable at once */
    :: atomic { mem[m].up && mem[m].prim && nrec < MAXR && mem[m].n < MAXR ->
        nrec++; rep[nrec] = mem[m].hi;
        mem[m].log[mem[m].n] = nrec; mem[m].n++;
        printf("MSC: dc%d appends r%d at index %d, epoch %d\n", m + 1, nrec, mem[m].n - 1, mem[m].hi) }

    /* primary: APPEND the first record the mirror has not acked, or the
     * one after it (streaming ahead of the acks), after
     * (prev_index, prev_epoch) */
    :: atomic { mem[m].up && mem[m].prim && mem[m].match < mem[m].n &&
                LM && mem[O(m)].up && nfull(app[O(m)]) ->
        t_i = mem[m].match;
        if
        :: t_i + 1 < mem[m].n -> t_i++
        :: true
        fi;
        app[O(m)]!mem[m].hi, t_i, mem[m].log[t_i], (t_i == 0 -> 0 : rep[mem[m].log[t_i - 1]]);
        printf("MSC: dc%d sends APPEND r%d (index %d) at epoch %d\n", m + 1, mem[m].log[t_i], t_i, mem[m].hi);
        t_i = 0 }

    /* mirror: an APPEND arrives */
    :: atomic { app[m]?t_e, t_i, t_id, t_pt ->
        if
#ifndef BUG_NO_FENCING
        :: t_e < mem[m].hi ->                               /* fenced: REJECT */
            printf("MSC: dc%d refuses APPEND r%d of epoch %d (seen %d)\n", m + 1, t_id, t_e, mem[m].hi);
            reply(m, mem[m].hi, 0)
#endif
        :: else ->
            printf("MSC: dc%d gets APPEND r%d (index %d) of epoch %d\n", m + 1, t_id, t_i, t_e);
            if :: t_e > mem[m].hi -> raise_hi(m, t_e) :: else fi;
            if
            :: t_i == 0 || (mem[m].n >= t_i && rep[mem[m].log[t_i - 1]] == t_pt) ->
                if
                :: mem[m].n > t_i && rep[mem[m].log[t_i]] == rep[t_id] ->
                    log_matching = mem[m].log[t_i] == t_id;   /* same (index, epoch) */
                    assert(log_matching)
                :: else ->
                    truncate(m, t_i);                         /* divergent tail */
                    mem[m].log[t_i] = t_id; mem[m].n = t_i + 1
                fi;
                check_sync();
                reply(m, t_e, t_i + 1)
            :: else -> skip     /* does not follow on from my log: resent later */
            fi
        fi;
        t_e = 0; t_i = 0; t_id = 0; t_pt = 0 }

    /* primary: commit what every member of sync holds durably */
    :: atomic { mem[m].up && mem[m].prim && CK(m) > K -> commit(m) }

    /* heartbeat with the witness: learn C when it says something new */
    :: atomic { mem[m].up && LW(m) &&
                (cE > mem[m].hi || (cE == mem[m].hi && cP == m && !mem[m].prim && RESUME_OK(m))) ->
        learn(m, cE, cP, cS) }

    /* primary: degrade (rule 2) when the mirror's acks stopped */
    :: atomic { mem[m].up && mem[m].prim && mem[m].psync == 3 && (!LM || !mem[O(m)].up) &&
                LW(m) && nfull(wreq[m]) ->
        wreq[m]!mem[m].hi, DEGRADE, O(m);
        printf("MSC: dc%d asks the witness: degrade (epoch %d)\n", m + 1, mem[m].hi) }

    /* primary: restore (rule 3) once the mirror acked its whole log; from
     * now until the witness's epoch is past this one it commits only with
     * the mirror's ack (pend, durable) */
    :: atomic { mem[m].up && mem[m].prim && mem[m].psync == BIT(m) &&
#ifndef BUG_RESTORE_BEFORE_CATCHUP
                mem[m].match >= mem[m].n &&
#endif
                LW(m) && nfull(wreq[m]) ->
        mem[m].pend = RESTORE;
        printf("MSC: dc%d asks the witness: restore dc%d (epoch %d)\n", m + 1, O(m) + 1, mem[m].hi);
        if
        :: wreq[m]!mem[m].hi, RESTORE, O(m)
        :: true -> skip     /* lost on the way */
        fi }

    /* primary: planned switchover (rule 1): stop, then ask; until the
     * witness's epoch is past this one it does not resume (pend, durable) */
    :: atomic { mem[m].up && mem[m].prim && (mem[m].psync & BIT(O(m))) &&
                LW(m) && nfull(wreq[m]) ->
        t_e = mem[m].hi; stepdown(m); mem[m].pend = PROMOTE;
        printf("MSC: dc%d steps down, asks the witness: promote dc%d (epoch %d)\n", m + 1, O(m) + 1, t_e);
        if
        :: wreq[m]!t_e, PROMOTE, O(m)
        :: true -> skip     /* lost on the way */
        fi;
        t_e = 0 }

    /* the configured primary whose switchover got no answer takes it back:
     * a degrade moves the epoch on, so the promote can no longer apply */
    :: atomic { mem[m].up && !mem[m].prim && mem[m].pend == PROMOTE &&
                LW(m) && nfull(wreq[m]) ->
        wreq[m]!mem[m].hi, DEGRADE, O(m);
        printf("MSC: dc%d takes its switchover back: degrade (epoch %d)\n", m + 1, mem[m].hi) }

    /* not primary and lost the primary: ask to be promoted (rule 1; the
     * witness decides, so this guard matters for availability only) */
    :: atomic { mem[m].up && !mem[m].prim && mem[m].hi > 0 && (!LM || !mem[O(m)].up) &&
                LW(m) && nfull(wreq[m]) ->
        wreq[m]!mem[m].hi, PROMOTE, m;
        printf("MSC: dc%d asks the witness: promote dc%d (epoch %d)\n", m + 1, m + 1, mem[m].hi) }

    /* lease over: a primary that hears neither the witness nor the mirror
     * steps down */
    :: atomic { mem[m].up && mem[m].prim && (!LM || !mem[O(m)].up) && !LW(m) ->
        printf("MSC: dc%d lease over, steps down\n", m + 1);
        stepdown(m) }

#ifdef BUG_SELF_PROMOTE
    /* a mirror that lost the primary takes over on its own */
    :: atomic { mem[m].up && !mem[m].prim && !LM && mem[m].hi > 0 && mem[m].hi < MAXE ->
        printf("MSC: dc%d promotes itself to epoch %d\n", m + 1, mem[m].hi + 1);
        raise_hi(m, mem[m].hi + 1); mem[m].prim = 1; mem[m].psync = BIT(m);
        check_takeover(m) }
#endif
    od
}

proctype Witness()
{
    do
    :: atomic { wreq[0]?t_e, t_op, t_tg -> decide(0); t_e = 0; t_op = 0; t_tg = 0 }
    :: atomic { wreq[1]?t_e, t_op, t_tg -> decide(1); t_e = 0; t_op = 0; t_tg = 0 }
    od
}

inline crash(m)
{
    printf("MSC: dc%d crashes\n", m + 1);
    mem[m].up = 0;
    stepdown(m);
#ifdef BUG_PENDING_VOLATILE
    mem[m].pend = 0;
#endif
    if :: nempty(app[m]) -> app[m]?_, _, _, _ :: empty(app[m]) -> skip fi
}

/* crashes, restarts and partitions between any pair, at any time */
proctype Env()
{
    do
    :: atomic { mem[0].up -> crash(0) }
    :: atomic { mem[1].up -> crash(1) }
    :: atomic { !mem[0].up -> mem[0].up = 1; printf("MSC: dc1 restarts\n") }
    :: atomic { !mem[1].up -> mem[1].up = 1; printf("MSC: dc2 restarts\n") }
    :: atomic { lk[0] = !lk[0]; printf("MSC: link dc1-dc2 %d\n", lk[0]) }
    :: atomic { lk[1] = !lk[1]; printf("MSC: link dc1-witness %d\n", lk[1]) }
    :: atomic { lk[2] = !lk[2]; printf("MSC: link dc2-witness %d\n", lk[2]) }
    od
}

init
{
    atomic {
        /* bootstrapped (epoch 1, dc1 primary and alone in sync), logs empty */
        mem[0].up = 1; mem[1].up = 1;
        lk[0] = 1; lk[1] = 1; lk[2] = 1;
        run Witness();
        run Member(0);
        run Member(1);
        run Env()
    }
}
