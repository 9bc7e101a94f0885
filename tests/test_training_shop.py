"""The training shop is a separate database seeded with the demo shop."""

import pytest
from sqlmodel import Session, func, select

from core import bootstrap, db
from core.messaging import inbox
from core.training import training
from core.models import Customer, Setting
from tests.conftest import NOW, PG_URL


def customers_in(engine):
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Customer)).one()


def test_a_training_shop_is_a_file_of_its_own_seeded_with_the_demo_and_the_real_shop_is_untouched(tmp_path):
    main_url = f"sqlite:///{tmp_path / 'shop.db'}"
    main = db.make_engine(main_url)
    bootstrap.init_db(main)
    url = training.prepare(main_url, "Trainee 1", trainee="Sam")
    assert url.endswith("shop.training-trainee1.db")
    eng = db.make_engine(url)
    assert customers_in(eng) > 100
    with Session(eng) as s:
        inbox.receive(s, phone="+14155550987", body="JOIN", to="+14155550142", now=NOW)
        assert training.trainee(s) == "Sam" and training.started_at(s) is not None
    assert customers_in(main) == 0
    # reset starts afresh: the trainee's new customer is gone, the demo is back
    before = customers_in(eng)
    eng.dispose()
    training.reset(url, trainee="Sam")
    eng = db.make_engine(url)
    assert customers_in(eng) == before - 1
    training.drop(url, eng)
    assert not (tmp_path / "shop.training-trainee1.db").exists()


def test_marks_remember_what_leaves_no_other_trace(tmp_path):
    url = training.prepare(f"sqlite:///{tmp_path / 'shop.db'}", "abc")
    eng = db.make_engine(url)
    with Session(eng) as s:
        training.mark(s, "refused_opt_in_request")
        assert training.marks(s) == {"refused_opt_in_request": "1"}
        assert s.get(Setting, "training_mark:refused_opt_in_request") is not None
    eng.dispose()


def test_an_in_memory_shop_cannot_have_a_training_shop():
    with pytest.raises(training.TrainingError):
        training.training_url("sqlite://", "abc")


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_on_postgresql_the_training_shop_is_a_schema_of_its_own():
    url = training.prepare(PG_URL, "pgtrain")
    assert "search_path" in url
    eng = db.make_engine(url)
    try:
        assert customers_in(eng) > 100
        main = db.make_engine(PG_URL)
        with main.connect() as conn:
            from sqlalchemy import text

            assert (
                conn.execute(
                    text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'training_pgtrain'")
                ).scalar()
                == 1
            )
        main.dispose()
    finally:
        training.drop(url, eng)
