//! `/api/users/*`: players by Goated uid — search, profiles, statistics.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi};

use std::collections::HashMap;

use poem_openapi::payload::Json;

use super::ApiTags;
use super::session::{AuditRow, BearerAuth, forbidden, require_admin_address, signed_in};
use super::shapes::{
    Omittable, Pagination, PeriodAmounts, PeriodRanks, Text, cache_control, default_page,
    default_page_limit, money, offset, paginated, prepare, ttl,
};
use crate::db::accounts::{self, Account};
use crate::db::audit::Action;
use crate::db::players::{self, DailySample};
use crate::db::races as db_races;
use crate::db::timestamp;
use crate::domain::Cents;
use crate::domain::ids::Uid;
use crate::domain::transform::Player;
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::read::rankings::{PlayerRanks, Rankings};

const MAX_BATCH: usize = 100;
/// How far back the daily chart goes.
const HISTORY_DAYS: i64 = 90;

#[derive(Debug, Clone, Object)]
pub struct SearchResult {
    pub uid: String,
    pub name: String,
    pub wagered: PeriodAmounts,
}

paginated!(SearchPage, SearchResult);

#[derive(Debug, Clone, Object)]
pub struct Profile {
    pub uid: String,
    pub name: String,
    /// Dollars per period, as last synced.
    pub wagered: PeriodAmounts,
    /// Leaderboard position per period.
    pub rank: PeriodRanks,
    /// True when a site account has proven it owns this player.
    pub verified: bool,
    /// The verified owner's public fields; null when unverified.
    #[oai(skip_serializing_if_is_none)]
    pub account: Option<PublicAccount>,
}

/// What anyone may see of the account that owns a player.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PublicAccount {
    pub username: String,
    pub bio: String,
    #[oai(skip_serializing_if_is_none)]
    pub profile_color: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProfileUpdate {
    /// Up to 500 characters.
    #[oai(skip_serializing_if_is_none, validator(max_length = 500))]
    pub bio: Omittable<Text>,
    /// `#RRGGBB`.
    #[oai(skip_serializing_if_is_none, validator(pattern = "^#[0-9A-Fa-f]{6}$"))]
    pub profile_color: Omittable<Text>,
    /// Show this player's name in full on public boards although `race.name_masking`
    /// hides names (the owner's choice; an admin cannot make it for them).
    #[oai(skip_serializing_if_is_none)]
    pub show_name: Omittable<bool>,
}

#[derive(Debug, Clone, Object)]
pub struct BatchProfiles {
    pub results: Vec<Profile>,
    /// Requested ids that are not synced players.
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RaceResult {
    pub race_id: String,
    pub position: u32,
    pub wagered: f64,
    pub prize: f64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct Totals {
    pub races_entered: u32,
    pub wins: u32,
    /// Finishes in the top three.
    pub podiums: u32,
    pub total_won: f64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DailyPoint {
    /// `YYYY-MM-DD` at the race time zone.
    pub day: String,
    pub today: f64,
    pub this_month: f64,
    pub all_time: f64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PlayerStats {
    pub uid: String,
    pub name: String,
    pub wagered: PeriodAmounts,
    pub rank: PeriodRanks,
    /// Finished races the player placed in, newest first.
    pub race_history: Vec<RaceResult>,
    pub totals: Totals,
    /// One point per day for the last 90 days, oldest first.
    pub daily: Vec<DailyPoint>,
}

fn cents(amount: f64) -> f64 {
    money(Cents::from_dollars(amount))
}

fn amounts(w: &[f64; 4]) -> PeriodAmounts {
    PeriodAmounts {
        today: cents(w[0]),
        this_week: cents(w[1]),
        this_month: cents(w[2]),
        all_time: cents(w[3]),
    }
}

fn ranks(p: &[Option<u32>; 4]) -> PeriodRanks {
    PeriodRanks {
        today: p[0],
        this_week: p[1],
        this_month: p[2],
        all_time: p[3],
    }
}

fn profile(uid: &str, p: &PlayerRanks, owner: Option<&Account>) -> Profile {
    Profile {
        uid: uid.to_string(),
        name: p.name.clone(),
        wagered: amounts(&p.wagered),
        rank: ranks(&p.positions),
        verified: owner.is_some(),
        account: owner.map(|a| PublicAccount {
            username: a.username.clone(),
            bio: a.bio.clone(),
            profile_color: a.profile_color.clone(),
        }),
    }
}

async fn owners(state: &AppState, uids: Vec<String>) -> ApiResult<HashMap<String, Account>> {
    state
        .db
        .read(move |c| {
            let mut found = HashMap::new();
            for uid in uids {
                if let Some(a) = accounts::by_goated_uid(c, &uid)? {
                    found.insert(uid, a);
                }
            }
            Ok(found)
        })
        .await
        .map_err(ApiError::from)
}

/// A player's public profile as of the last good sync, with its verified owner's fields.
async fn load_profile(state: &AppState, uid: &str) -> ApiResult<Profile> {
    let rankings = state.read.rankings().await?;
    let player = find(&rankings, uid)?;
    let linked = owners(state, vec![uid.to_string()]).await?;
    Ok(profile(uid, player, linked.get(uid)))
}

fn find<'a>(rankings: &'a Rankings, uid: &str) -> ApiResult<&'a PlayerRanks> {
    rankings
        .players
        .get(uid)
        .ok_or_else(|| ApiError::not_found(format!("No player with uid {uid}.")))
}

pub struct UsersApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/users", tag = "ApiTags::Users")]
impl UsersApi {
    /// Players whose name contains `q` (case-insensitive for ASCII), best matches first.
    #[oai(path = "/search", method = "get")]
    async fn search(
        &self,
        /// 2 to 32 characters that begin and end with a visible one (not a space, a
        /// control, a zero-width or a direction mark: SPEC §17), with no control
        /// character between; spaces, tabs and line breaks around them are trimmed.
        #[oai(validator(
            min_length = 2,
            max_length = 32,
            pattern = r"^[ \t\r\n]*[^\x00-\x20\x7f-\xa0\u00ad\u061c\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff][^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u00ad\u061c\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff][ \t\r\n]*$"
        ))]
        q: Query<String>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "default_page_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<SearchPage>> {
        // The schema's pattern already holds two visible characters besides these.
        let query = q.0.trim_matches([' ', '\t', '\r', '\n']).to_string();
        let (page, limit) = (page.0, limit.0);
        let offset = offset(page, limit);
        let masking = self.state.config.race.name_masking;
        let (total, found) = self
            .state
            .db
            .read(move |c| {
                // With masking on, a name search finds only the players who show their
                // name: it must not tell whether a hidden name exists.
                let masker = crate::read::masking::Masker::load(c, masking)?;
                players::search(c, &query, limit, offset, masker.is_on())
            })
            .await?;
        let results = found
            .into_iter()
            .map(|p: Player| {
                let w = p.wagered;
                SearchResult {
                    uid: p.uid,
                    name: p.name,
                    wagered: amounts(&[w.today, w.this_week, w.this_month, w.all_time]),
                }
            })
            .collect();
        Ok(Success::new(&SearchPage {
            results,
            pagination: Pagination::new(page, limit, total as usize),
        }))
    }

    /// Up to 100 profiles in one call: `ids=a,b,c`. Unknown ids are listed apart.
    #[oai(path = "/batch", method = "get")]
    async fn batch(
        &self,
        /// Comma-separated Goated uids, 1 to 100 of them.
        #[oai(validator(
            min_length = 1,
            max_length = 6600,
            pattern = "^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64}){0,99}$"
        ))]
        ids: Query<String>,
    ) -> ApiResult<Success<BatchProfiles>> {
        let wanted = parse_ids(&ids.0)?;
        let rankings = self.state.read.rankings().await?;
        let linked = owners(&self.state, wanted.clone()).await?;
        let (mut results, mut unknown) = (Vec::new(), Vec::new());
        for uid in wanted {
            match rankings.players.get(&uid) {
                Some(p) => results.push(profile(&uid, p, linked.get(&uid))),
                None => unknown.push(uid),
            }
        }
        Ok(Success::new(&BatchProfiles { results, unknown }))
    }

    /// A player's public profile by Goated uid.
    #[oai(path = "/:user_id", method = "get")]
    async fn profile(&self, req: &Request, user_id: Path<Uid>) -> ApiResult<Success<Profile>> {
        let state = self.state.clone();
        let version = state.read.version();
        let uid = user_id.0.into_string();
        let key = format!("user:{uid}@{version}");
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                Ok(prepare(&load_profile(&state, &uid).await?))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control(&version)))
    }

    /// Updates the public profile of a player: only its verified owner or an admin.
    #[oai(path = "/:user_id", method = "patch")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        user_id: Path<Uid>,
        body: Json<ProfileUpdate>,
    ) -> ApiResult<Success<Profile>> {
        let caller = signed_in(&self.state, &auth).await?;
        let uid = user_id.0.into_string();
        let is_owner = caller.goated_uid.as_deref() == Some(uid.as_str());
        if !is_owner && !caller.is_admin() {
            return Err(forbidden(
                "Only the verified owner of this player or an admin can edit its profile.",
            ));
        }
        // An admin editing someone else's profile is an admin action: the address
        // allow-list applies, and the edit is audited in its own transaction.
        let row = if is_owner {
            None
        } else {
            require_admin_address(&self.state, req)?;
            let actor = super::session::Actor {
                label: format!("account:{}", caller.id),
                account: None,
            };
            Some(AuditRow::new(&self.state, req, &actor, Action::ProfileUpdate).target(uid.clone()))
        };
        let ProfileUpdate {
            bio,
            profile_color,
            show_name,
        } = body.0;
        if show_name.0.is_some() && !is_owner {
            return Err(forbidden(
                "Only the player's verified owner chooses whether their name is shown.",
            ));
        }
        let show_name = show_name.0;
        let (bio, profile_color) = (bio.text(), profile_color.text());
        let (key, now) = (uid.clone(), timestamp(self.state.clock.now()));
        let updated = self
            .state
            .db
            .write(move |tx| {
                let Some(owner) = accounts::by_goated_uid(tx, &key)? else {
                    return Ok(false);
                };
                let bio = bio.unwrap_or(owner.bio);
                let color = profile_color.or(owner.profile_color);
                accounts::update_profile(
                    tx,
                    owner.id,
                    bio.trim(),
                    color.as_deref(),
                    show_name,
                    &now,
                )?;
                if let Some(row) = &row {
                    row.write(tx)?;
                }
                Ok(true)
            })
            .await?;
        if !updated {
            return Err(ApiError::not_found(
                "No account is verified as this player.",
            ));
        }
        self.state.read.invalidate();
        Ok(Success::new(&load_profile(&self.state, &uid).await?))
    }

    /// A player's statistics: amounts and ranks per period, race history, totals won,
    /// and a daily series for charts.
    #[oai(path = "/:user_id/stats", method = "get")]
    async fn stats(&self, user_id: Path<Uid>) -> ApiResult<Success<PlayerStats>> {
        let uid = user_id.0.into_string();
        let rankings = self.state.read.rankings().await?;
        let player = find(&rankings, &uid)?.clone();
        let since = (self.state.clock.now() - chrono::Duration::days(HISTORY_DAYS))
            .format("%Y-%m-%d")
            .to_string();
        let key = uid.clone();
        let (results, daily) = self
            .state
            .db
            .read(move |c| {
                Ok((
                    db_races::player_results(c, &key)?,
                    players::history(c, &key, &since)?,
                ))
            })
            .await?;
        let totals = Totals {
            races_entered: results.len() as u32,
            wins: results.iter().filter(|(_, s)| s.position == 1).count() as u32,
            podiums: results.iter().filter(|(_, s)| s.position <= 3).count() as u32,
            total_won: money(Cents::total(results.iter().map(|(_, s)| s.prize))),
        };
        Ok(Success::new(&PlayerStats {
            uid,
            name: player.name.clone(),
            wagered: amounts(&player.wagered),
            rank: ranks(&player.positions),
            race_history: results
                .into_iter()
                .map(|(race_id, s)| RaceResult {
                    race_id,
                    position: s.position,
                    wagered: money(s.wagered),
                    prize: money(s.prize),
                })
                .collect(),
            totals,
            daily: daily.into_iter().map(daily_point).collect(),
        }))
    }
}

fn daily_point(d: DailySample) -> DailyPoint {
    DailyPoint {
        day: d.day,
        today: cents(d.today),
        this_month: cents(d.this_month),
        all_time: cents(d.all_time),
    }
}

fn parse_ids(raw: &str) -> ApiResult<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    for id in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if Uid::parse(id).is_err() {
            return Err(ApiError::validation(
                "ids",
                format!("{id:?} is not a Goated uid"),
            ));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "ids",
            format!("ids must list 1 to {MAX_BATCH} uids"),
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_are_trimmed_deduplicated_and_bounded() {
        assert_eq!(parse_ids(" a, b ,a,,c").unwrap(), vec!["a", "b", "c"]);
        assert!(parse_ids(",,").is_err());
        assert!(parse_ids("a,<script>").is_err());
        let many = (0..101)
            .map(|i| format!("u{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_ids(&many).is_err());
    }
}
