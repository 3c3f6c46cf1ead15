//! [`CategoryStore`]: a category is added once, at the end of the list, and
//! retired once (never deleted); each change publishes the whole list and
//! writes its audit row.

use postcso_model::{CategoryCode, CategoryInfo};
use postcso_station::repo::{
    Actor, Audience, CategoryStore, ChangeBody, FeedStore, RepoError, StationStore,
};

use crate::{audit_of, feed_for, now, station};

contract_tests!(
    a_category_is_added_once_at_the_end_with_its_feed_entry_and_audit_row,
    a_category_is_retired_once_and_kept,
);

fn bins() -> CategoryInfo {
    CategoryInfo {
        code: CategoryCode::parse("illegal_dumping").expect("code"),
        name_ko: "무단 투기".to_owned(),
        name_en: "Illegal dumping".to_owned(),
        guidance: "Photograph the pile and any name on it.".to_owned(),
        retired: false,
    }
}

async fn a_category_is_added_once_at_the_end_with_its_feed_entry_and_audit_row<
    R: StationStore + CategoryStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let admin = Actor::console();
    let list = repo
        .add_category(mapo.id, bins(), admin.clone(), now())
        .await
        .expect("add");
    assert_eq!(list.entries().len(), 7);
    assert_eq!(list.entries().last(), Some(&bins()), "added at the end");
    assert_eq!(repo.categories(mapo.id).await.expect("read"), list);

    let feed = feed_for(repo, &mapo, Audience::CategoriesOnly).await;
    assert_eq!(feed.len(), 2, "the seeded list, then the new one");
    let ChangeBody::Categories(json) = &feed[1].body else {
        panic!("not a category entry: {:?}", feed[1]);
    };
    assert_eq!(json[6]["code"], "illegal_dumping");

    let added = audit_of(repo, &mapo, "category.add").await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].target_id, "illegal_dumping");
    assert_eq!(added[0].actor_username.as_deref(), Some("console"));
    assert_eq!(
        added[0].after.as_ref().map(|a| &a["retired"]),
        Some(&false.into())
    );

    for again in [
        bins(),
        CategoryInfo {
            retired: true,
            ..bins()
        },
    ] {
        match repo
            .add_category(mapo.id, again, admin.clone(), now())
            .await
        {
            Err(RepoError::Conflict(message)) => {
                assert!(message.contains("illegal_dumping"), "{message}");
            }
            other => panic!("a second `illegal_dumping` was not refused: {other:?}"),
        }
    }
    assert_eq!(
        repo.categories(mapo.id)
            .await
            .expect("read")
            .entries()
            .len(),
        7
    );
    assert_eq!(
        feed_for(repo, &mapo, Audience::CategoriesOnly).await.len(),
        2
    );
    assert_eq!(
        audit_of(repo, &mapo, "category.add").await.len(),
        1,
        "nothing more written"
    );
}

async fn a_category_is_retired_once_and_kept<
    R: StationStore + CategoryStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let admin = Actor::console();
    let code = "safety_facility";
    let (list, retired) = repo
        .retire_category(mapo.id, code, admin.clone(), now())
        .await
        .expect("retire");
    assert!(retired);
    assert_eq!(list.entries().len(), 6, "kept in the list");
    assert!(list.get(code).is_some_and(|c| c.retired));

    let (again, retired_again) = repo
        .retire_category(mapo.id, code, admin.clone(), now())
        .await
        .expect("retire again");
    assert!(!retired_again, "the second call changes nothing");
    assert_eq!(again, list);
    assert_eq!(audit_of(repo, &mapo, "category.retire").await.len(), 1);
    assert_eq!(
        feed_for(repo, &mapo, Audience::CategoriesOnly).await.len(),
        2,
        "one feed entry for one change"
    );

    assert!(matches!(
        repo.retire_category(mapo.id, "no_such_thing", admin, now())
            .await,
        Err(RepoError::NotFound("category"))
    ));
}
