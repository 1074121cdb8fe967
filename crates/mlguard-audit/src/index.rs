//! A policy compiled into an index, for evaluating many requests (volume estimates, coverage
//! enumeration, benchmarks).
//!
//! Every string a rule compares exactly (users, groups, verbs, namespaces) is mapped to the set
//! of rules that accept it, as a bitset over rule indexes; rules that do not constrain a field
//! accept every value. A request's candidates are the AND of its fields' sets, and each
//! candidate, in order, is confirmed with [`rule_matches`], the reference semantics. The index
//! only ever narrows which rules are tried, so it decides exactly what [`Policy::eval`] decides
//! (the tests hold the two against each other).

use crate::eval::{rule_matches, Decision, Request};
use crate::policy::{Level, Policy, Stage};
use std::collections::{BTreeSet, HashMap};

/// One bitset per distinct value of one field, plus the rules that accept any value.
#[derive(Debug, Default)]
struct Field {
    /// Rules that accept every value of the field (they do not constrain it).
    any: Vec<u64>,
    /// Rules that accept a listed value: `any` OR the rules listing it.
    by_value: HashMap<String, Vec<u64>>,
}

impl Field {
    fn new(words: usize) -> Self {
        Field {
            any: vec![0; words],
            by_value: HashMap::new(),
        }
    }

    fn set(bits: &mut [u64], i: usize) {
        bits[i / 64] |= 1 << (i % 64);
    }

    fn finish(&mut self) {
        let any = self.any.clone();
        for v in self.by_value.values_mut() {
            for (w, a) in v.iter_mut().zip(&any) {
                *w |= a;
            }
        }
    }

    fn of(&self, value: &str) -> &[u64] {
        self.by_value.get(value).map_or(&self.any, Vec::as_slice)
    }
}

/// A [`Policy`] compiled for fast evaluation. Borrows the policy.
#[derive(Debug)]
pub struct Compiled<'p> {
    policy: &'p Policy,
    words: usize,
    /// Rules that can match a resource request / a non-resource request.
    resource: Vec<u64>,
    non_resource: Vec<u64>,
    users: Field,
    /// Rules without a userGroups constraint; the rest are in `groups.by_value`.
    groups: Field,
    verbs: Field,
    namespaces: Field,
    /// Decisions per rule, precomputed (stages and managed fields do not depend on the request).
    decisions: Vec<Decision>,
    no_match: Decision,
}

impl<'p> Compiled<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        let n = policy.rules.len();
        let words = n.div_ceil(64).max(1);
        let mut c = Compiled {
            policy,
            words,
            resource: vec![0; words],
            non_resource: vec![0; words],
            users: Field::new(words),
            groups: Field::new(words),
            verbs: Field::new(words),
            namespaces: Field::new(words),
            decisions: Vec::with_capacity(n),
            no_match: Decision {
                level: Level::None,
                omit_stages: policy.omit_stages.clone(),
                omit_managed_fields: policy.omit_managed_fields,
                rule: None,
            },
        };
        for (i, r) in policy.rules.iter().enumerate() {
            if !r.is_non_resource_rule() {
                Field::set(&mut c.resource, i);
            }
            if !r.is_resource_rule() {
                Field::set(&mut c.non_resource, i);
            }
            for (field, values) in [
                (&mut c.users, &r.users),
                (&mut c.groups, &r.user_groups),
                (&mut c.verbs, &r.verbs),
                (&mut c.namespaces, &r.namespaces),
            ] {
                if values.is_empty() {
                    Field::set(&mut field.any, i);
                } else {
                    for v in values {
                        let bits = field
                            .by_value
                            .entry(v.clone())
                            .or_insert_with(|| vec![0; words]);
                        Field::set(bits, i);
                    }
                }
            }
            c.decisions.push(Decision {
                level: r.level,
                omit_stages: policy
                    .omit_stages
                    .union(&r.omit_stages)
                    .copied()
                    .collect::<BTreeSet<Stage>>(),
                omit_managed_fields: r.omit_managed_fields.unwrap_or(policy.omit_managed_fields),
                rule: Some(i),
            });
        }
        for f in [
            &mut c.users,
            &mut c.verbs,
            &mut c.namespaces,
            // groups: `any` is not merged into by_value, since a request has many groups and
            // we OR them; merging is harmless either way.
            &mut c.groups,
        ] {
            f.finish();
        }
        c
    }

    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    /// The index of the first rule matching `req`, or `None`.
    pub fn first_match(&self, req: &Request) -> Option<usize> {
        let kind = if req.resource_request {
            &self.resource
        } else {
            &self.non_resource
        };
        let verbs = self.verbs.of(&req.verb);
        // Non-resource requests have no namespace; rules naming namespaces are resource rules.
        let ns = self.namespaces.of(&req.namespace);
        let (users, has_user) = match &req.user {
            Some(u) => (self.users.of(u), true),
            None => (self.users.any.as_slice(), false),
        };
        // The rules whose userGroups accept one of the request's groups (no allocation for
        // policies of up to 256 rules).
        let mut stack = [0u64; 4];
        let mut heap = Vec::new();
        let groups: &mut [u64] = if self.words <= stack.len() {
            &mut stack[..self.words]
        } else {
            heap.resize(self.words, 0);
            &mut heap
        };
        groups.copy_from_slice(&self.groups.any);
        if has_user {
            for g in &req.groups {
                if let Some(b) = self.groups.by_value.get(g.as_str()) {
                    for (w, x) in groups.iter_mut().zip(b) {
                        *w |= x;
                    }
                }
            }
        }
        for w in 0..self.words {
            let g = groups[w];
            let mut m = kind[w] & verbs[w] & ns[w] & users[w] & g;
            if !has_user {
                // Rules naming users or groups never match a request without a user.
                m &= self.users.any[w] & self.groups.any[w];
            }
            while m != 0 {
                let i = w * 64 + m.trailing_zeros() as usize;
                m &= m - 1;
                if rule_matches(&self.policy.rules[i], req) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// The decision for `req`, as [`Policy::eval`] gives it.
    pub fn eval(&self, req: &Request) -> &Decision {
        match self.first_match(req) {
            Some(i) => &self.decisions[i],
            None => &self.no_match,
        }
    }
}
