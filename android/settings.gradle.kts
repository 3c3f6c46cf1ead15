// The POST-CSO Android library, built with Gradle and the Android Gradle Plugin on a
// developer machine or an Android CI runner. (This repository's own CI has no Android
// SDK: it compiles and tests the JVM part with Maven, see postcso/pom.xml and README.md.)
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "postcso-android"
include(":postcso")
