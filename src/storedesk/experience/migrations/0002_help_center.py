"""The help center's tables, its fixed categories and its full-text index on both databases.

SQLite: an FTS5 external-content table over the article's title, summary and text, kept in
step by triggers (porter stemming, like the desk's search). PostgreSQL: a stored generated
tsvector column with a GIN index (see storedesk.experience.queries, help center section).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from storedesk.experience.help_data import HELP_CATEGORIES

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE experience_helparticle_fts USING fts5(
        title, summary, search_text,
        content='experience_helparticle', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER experience_helparticle_fts_insert AFTER INSERT ON experience_helparticle BEGIN
        INSERT INTO experience_helparticle_fts(rowid, title, summary, search_text)
        VALUES (new.id, new.title, new.summary, new.search_text);
    END
    """,
    """
    CREATE TRIGGER experience_helparticle_fts_delete AFTER DELETE ON experience_helparticle BEGIN
        INSERT INTO experience_helparticle_fts(experience_helparticle_fts, rowid, title, summary,
                                               search_text)
        VALUES ('delete', old.id, old.title, old.summary, old.search_text);
    END
    """,
    """
    CREATE TRIGGER experience_helparticle_fts_update
    AFTER UPDATE OF title, summary, search_text ON experience_helparticle BEGIN
        INSERT INTO experience_helparticle_fts(experience_helparticle_fts, rowid, title, summary,
                                               search_text)
        VALUES ('delete', old.id, old.title, old.summary, old.search_text);
        INSERT INTO experience_helparticle_fts(rowid, title, summary, search_text)
        VALUES (new.id, new.title, new.summary, new.search_text);
    END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS experience_helparticle_fts_insert",
    "DROP TRIGGER IF EXISTS experience_helparticle_fts_delete",
    "DROP TRIGGER IF EXISTS experience_helparticle_fts_update",
    "DROP TABLE IF EXISTS experience_helparticle_fts",
]
# Keep in step with storedesk.experience.queries.PG_ARTICLE_VECTOR.
ARTICLE_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(search_text, '')), 'C')"
)
POSTGRES_FORWARD = [
    f"ALTER TABLE experience_helparticle ADD COLUMN search_vector tsvector"
    f" GENERATED ALWAYS AS ({ARTICLE_VECTOR}) STORED",
    "CREATE INDEX experience_helparticle_fts_idx ON experience_helparticle"
    " USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS experience_helparticle_fts_idx",
    "ALTER TABLE experience_helparticle DROP COLUMN IF EXISTS search_vector",
]


def _run(sqlite, postgres):
    def run(apps, schema_editor):
        statements = {"sqlite": sqlite, "postgresql": postgres}.get(
            schema_editor.connection.vendor, []
        )
        for statement in statements:
            schema_editor.execute(statement)

    return run


def seed_categories(apps, schema_editor):
    category = apps.get_model("experience", "HelpCategory")
    for position, (slug, title, description) in enumerate(HELP_CATEGORIES):
        category.objects.update_or_create(
            slug=slug, defaults={"title": title, "description": description, "position": position}
        )


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0006_merge_demo_flag_and_tracking'),
        ('experience', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HelpCategory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=60, unique=True, verbose_name='slug')),
                ('title', models.CharField(max_length=100, verbose_name='title')),
                ('description', models.CharField(blank=True, max_length=300, verbose_name='description')),
                ('position', models.PositiveSmallIntegerField(default=0, verbose_name='position')),
            ],
            options={
                'verbose_name_plural': 'help categories',
                'ordering': ['position', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='HelpArticle',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=120, verbose_name='slug')),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('published', 'Published'), ('archived', 'Archived')], default='draft', max_length=10, verbose_name='status')),
                ('title', models.CharField(max_length=200, verbose_name='title')),
                ('summary', models.CharField(blank=True, max_length=300)),
                ('search_text', models.TextField(blank=True)),
                ('view_count', models.PositiveIntegerField(default=0)),
                ('helpful_count', models.PositiveIntegerField(default=0)),
                ('not_helpful_count', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField()),
                ('updated_at', models.DateTimeField()),
                ('published_at', models.DateTimeField(blank=True, null=True)),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='help_articles', to='commerce.store')),
            ],
        ),
        migrations.CreateModel(
            name='HelpArticleVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('title', models.CharField(max_length=200)),
                ('body_markdown', models.TextField()),
                ('body_html', models.TextField(help_text='rendered and sanitized when the version is saved')),
                ('note', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField()),
                ('article', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='experience.helparticle')),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.AddField(
            model_name='helparticle',
            name='current_version',
            field=models.ForeignKey(blank=True, help_text='the version customers read', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='experience.helparticleversion'),
        ),
        migrations.AddField(
            model_name='helparticle',
            name='category',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='articles', to='experience.helpcategory'),
        ),
        migrations.CreateModel(
            name='HelpEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('search', 'Search'), ('view', 'Article view'), ('suggestion_shown', 'Suggestion shown'), ('suggestion_clicked', 'Suggestion clicked'), ('ticket_opened', 'Ticket opened after a suggestion')], max_length=20)),
                ('help_session', models.CharField(blank=True, max_length=64)),
                ('query', models.CharField(blank=True, max_length=200)),
                ('result_count', models.PositiveIntegerField(blank=True, null=True)),
                ('channel', models.CharField(blank=True, help_text='center, form or chat', max_length=10)),
                ('ticket_id', models.BigIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField()),
                ('article', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='experience.helparticle')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='commerce.store')),
            ],
        ),
        migrations.CreateModel(
            name='HelpVote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('voter', models.CharField(help_text="sha256 of the visitor's help cookie", max_length=64)),
                ('helpful', models.BooleanField()),
                ('created_at', models.DateTimeField()),
                ('article', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='votes', to='experience.helparticle')),
            ],
        ),
        migrations.AddConstraint(
            model_name='helparticleversion',
            constraint=models.UniqueConstraint(fields=('article', 'number'), name='help_article_version_once'),
        ),
        migrations.AddIndex(
            model_name='helparticle',
            index=models.Index(fields=['store', 'status', 'category', '-view_count'], name='help_article_popular_idx'),
        ),
        migrations.AddIndex(
            model_name='helparticle',
            index=models.Index(fields=['store', '-updated_at'], name='help_article_updated_idx'),
        ),
        migrations.AddConstraint(
            model_name='helparticle',
            constraint=models.UniqueConstraint(fields=('store', 'slug'), name='help_article_slug_once'),
        ),
        migrations.AddIndex(
            model_name='helpevent',
            index=models.Index(fields=['store', 'kind', 'created_at'], name='help_event_kind_idx'),
        ),
        migrations.AddIndex(
            model_name='helpevent',
            index=models.Index(fields=['help_session', 'kind'], name='help_event_session_idx'),
        ),
        migrations.AddConstraint(
            model_name='helpvote',
            constraint=models.UniqueConstraint(fields=('article', 'voter'), name='help_vote_once'),
        ),
        migrations.AddConstraint(
            model_name="helpevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "ticket_opened")),
                fields=("ticket_id",),
                name="help_event_ticket_once",
            ),
        ),
        migrations.RunPython(
            _run(SQLITE_FORWARD, POSTGRES_FORWARD),
            _run(SQLITE_BACKWARD, POSTGRES_BACKWARD),
            elidable=False,
        ),
        migrations.RunPython(seed_categories, migrations.RunPython.noop),
    ]
