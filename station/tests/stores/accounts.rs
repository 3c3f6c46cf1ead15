//! [`AccountStore`]: usernames are unique per station, sessions work until
//! they end, expire or their user is disabled, and every change is audited.

use chrono::Duration;
use postcso_station::auth::Role;
use postcso_station::repo::{AccountStore, FeedStore, NewUser, RepoError, StationStore};

use crate::{audit_of, now, station, user};

contract_tests!(
    a_username_is_unique_per_station_and_users_are_listed_by_name,
    a_session_works_until_it_ends_or_expires,
    disabling_a_user_ends_their_sessions_once,
    a_touched_session_is_idle_from_its_last_use,
);

async fn a_touched_session_is_idle_from_its_last_use<
    R: StationStore + AccountStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    repo.create_session("session-1", &kim, now() + Duration::hours(8))
        .await
        .expect("create");
    let fresh = repo
        .session_by_token_hash("session-1", now())
        .await
        .expect("lookup")
        .expect("live");
    assert!(
        (now() - fresh.last_seen_at) < Duration::minutes(1),
        "created just now"
    );
    let idle = Duration::minutes(30);
    let later = fresh.last_seen_at + Duration::minutes(31);
    assert!(fresh.idle_too_long(later, idle));
    assert!(fresh.needs_touch(later));
    assert!(!fresh.needs_touch(fresh.last_seen_at + Duration::seconds(30)));

    let used_at = fresh.last_seen_at + Duration::minutes(20);
    repo.touch_session("session-1", used_at)
        .await
        .expect("touch");
    let touched = repo
        .session_by_token_hash("session-1", used_at)
        .await
        .expect("lookup")
        .expect("live");
    assert_eq!(touched.last_seen_at, used_at);
    assert!(
        !touched.idle_too_long(later, idle),
        "used 11 minutes before"
    );
    assert!(audit_of(repo, &mapo, "session.touch").await.is_empty());
}

async fn a_username_is_unique_per_station_and_users_are_listed_by_name<
    R: StationStore + AccountStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    user(repo, &mapo, "ahn", Role::Inspector).await;
    user(repo, &dongjak, "kim", Role::Admin).await;

    let again = NewUser {
        username: "kim".to_owned(),
        role: Role::Admin,
        password_hash: "other".to_owned(),
    };
    match repo.add_user(mapo.id, again).await {
        Err(RepoError::Conflict(message)) => assert!(message.contains("kim"), "{message}"),
        other => panic!("a second `kim` was not refused: {other:?}"),
    }

    let names: Vec<(String, Role)> = repo
        .list_users(mapo.id)
        .await
        .expect("list")
        .into_iter()
        .map(|s| (s.user.username, s.user.role))
        .collect();
    assert_eq!(
        names,
        [
            ("ahn".to_owned(), Role::Inspector),
            ("kim".to_owned(), Role::Supervisor)
        ]
    );

    let credentials = repo
        .user_credentials(mapo.id, "kim")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(credentials.user, kim);
    assert_eq!(
        credentials.password_hash, "hash-of-kim",
        "the first one is kept"
    );
    assert_eq!(
        repo.user_credentials(mapo.id, "lee")
            .await
            .expect("lookup")
            .map(|c| c.user),
        None
    );

    let added = audit_of(repo, &mapo, "user.add").await;
    assert_eq!(
        added.len(),
        2,
        "one row per stored user, none for the refusal"
    );
    assert_eq!(added[0].target_id, kim.id.to_string());
    assert_eq!(
        added[0].after.as_ref().map(|a| &a["role"]),
        Some(&"supervisor".into())
    );
}

async fn a_session_works_until_it_ends_or_expires<
    R: StationStore + AccountStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let expires_at = now() + Duration::hours(8);
    repo.create_session("session-1", &kim, expires_at)
        .await
        .expect("create");

    let session = repo
        .session_by_token_hash("session-1", now())
        .await
        .expect("lookup")
        .expect("live");
    assert_eq!(session.user, kim);
    assert_eq!(session.expires_at, expires_at);
    assert_eq!(session.token_hash, "session-1");
    assert_eq!(
        repo.session_by_token_hash("session-1", expires_at)
            .await
            .expect("lookup"),
        None,
        "not at its expiry"
    );
    assert_eq!(
        repo.session_by_token_hash("other", now())
            .await
            .expect("lookup"),
        None
    );

    assert!(repo.end_session(&session, now()).await.expect("end"));
    assert_eq!(
        repo.session_by_token_hash("session-1", now())
            .await
            .expect("lookup"),
        None
    );
    assert!(
        !repo.end_session(&session, now()).await.expect("end again"),
        "already ended"
    );

    assert_eq!(audit_of(repo, &mapo, "session.create").await.len(), 1);
    let ended = audit_of(repo, &mapo, "session.end").await;
    assert_eq!(ended.len(), 1, "only the call that ended it is audited");
    assert_eq!(ended[0].actor_user_id, Some(kim.id));
}

async fn disabling_a_user_ends_their_sessions_once<
    R: StationStore + AccountStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let lee = user(repo, &mapo, "lee", Role::Supervisor).await;
    let later = now() + Duration::hours(8);
    for (token, who) in [("kim-1", &kim), ("kim-2", &kim), ("lee-1", &lee)] {
        repo.create_session(token, who, later)
            .await
            .expect("session");
    }

    let disabled = repo
        .disable_user(mapo.id, "kim", now())
        .await
        .expect("disable");
    assert!(disabled.newly);
    assert_eq!(disabled.user, kim);
    assert_eq!(disabled.sessions_ended, 2);
    for token in ["kim-1", "kim-2"] {
        assert_eq!(
            repo.session_by_token_hash(token, now())
                .await
                .expect("lookup"),
            None
        );
    }
    assert!(
        repo.session_by_token_hash("lee-1", now())
            .await
            .expect("lookup")
            .is_some(),
        "another user's session is untouched"
    );
    assert_eq!(
        repo.user_credentials(mapo.id, "kim")
            .await
            .expect("lookup")
            .map(|c| c.user),
        None
    );
    let listed = repo.list_users(mapo.id).await.expect("list");
    assert!(
        listed
            .iter()
            .any(|s| s.user.id == kim.id && s.disabled_at.is_some())
    );

    let again = repo
        .disable_user(mapo.id, "kim", now())
        .await
        .expect("disable again");
    assert!(!again.newly);
    assert_eq!(again.sessions_ended, 0);
    assert_eq!(audit_of(repo, &mapo, "user.disable").await.len(), 1);

    assert!(matches!(
        repo.disable_user(mapo.id, "nobody", now()).await,
        Err(RepoError::NotFound("user"))
    ));
}
