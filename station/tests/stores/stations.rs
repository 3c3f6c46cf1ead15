//! [`StationStore`]: stations are created once per slug, seeded with the
//! built-in categories and a first feed entry, and found by slug.

use postcso_model::CategoryList;
use postcso_station::repo::{
    Audience, CategoryStore, ChangeBody, FeedStore, RepoError, StationStore,
};

use crate::{feed_for, station};

contract_tests!(
    a_station_is_created_once_per_slug,
    a_new_station_has_the_built_in_categories_and_a_first_feed_entry,
);

async fn a_station_is_created_once_per_slug<R: StationStore + ?Sized>(repo: &R) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    assert_eq!(mapo.slug, "mapo");
    assert_eq!(mapo.name, "mapo police station");
    assert_ne!(mapo.id, dongjak.id);

    match repo.create_station("mapo", "Another Mapo").await {
        Err(RepoError::Conflict(message)) => assert!(message.contains("mapo"), "{message}"),
        other => panic!("a second `mapo` was not refused: {other:?}"),
    }

    let found = repo
        .station_by_slug("mapo")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, mapo.id);
    assert_eq!(found.name, "mapo police station", "the first one is kept");
    assert_eq!(repo.station_by_slug("gangnam").await.expect("lookup"), None);

    let slugs: Vec<String> = repo
        .list_stations()
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.slug)
        .collect();
    assert_eq!(slugs, ["dongjak", "mapo"], "listed by slug, no duplicate");
}

async fn a_new_station_has_the_built_in_categories_and_a_first_feed_entry<
    R: StationStore + CategoryStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let list = repo.categories(mapo.id).await.expect("categories");
    assert_eq!(list, CategoryList::default());
    assert_eq!(list.entries().len(), 6);

    let feed = feed_for(repo, &mapo, Audience::CategoriesOnly).await;
    assert_eq!(feed.len(), 1, "one entry: the seeded list");
    assert_eq!(feed[0].seq, 1, "numbered from 1 per station");
    let ChangeBody::Categories(json) = &feed[0].body else {
        panic!("not a category entry: {:?}", feed[0]);
    };
    assert_eq!(json.as_array().map(Vec::len), Some(6));
    assert!(
        crate::audit(repo, &mapo).await.is_empty(),
        "creating a station is a console action outside the station's audit log"
    );
}
