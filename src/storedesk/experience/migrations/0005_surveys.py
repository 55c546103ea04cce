"""Surveys: texts, throttle rows, invitations and responses."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0006_merge_demo_flag_and_tracking'),
        ('desk', '0008_merge_reply_key_and_search_vectors'),
        ('experience', '0004_outreach'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SurveyRecipient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(max_length=254, unique=True)),
                ('last_invited_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='SurveyDefinition',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('csat', 'Satisfaction (CSAT)'), ('nps', 'Net Promoter Score (NPS)')], max_length=8, unique=True, verbose_name='survey')),
                ('subject', models.CharField(max_length=200, verbose_name='email subject')),
                ('intro', models.TextField(verbose_name='introduction')),
                ('question', models.CharField(max_length=300, verbose_name='question')),
                ('follow_up_question', models.CharField(max_length=300, verbose_name='follow-up question')),
                ('thank_you', models.TextField(verbose_name='thank-you text')),
                ('version', models.PositiveIntegerField(default=1)),
                ('updated_at', models.DateTimeField()),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'survey',
                'verbose_name_plural': 'surveys',
                'ordering': ['kind'],
            },
        ),
        migrations.CreateModel(
            name='SurveyInvitation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('csat', 'Satisfaction (CSAT)'), ('nps', 'Net Promoter Score (NPS)')], max_length=8)),
                ('email', models.EmailField(max_length=254)),
                ('intent', models.CharField(blank=True, max_length=24)),
                ('channel', models.CharField(blank=True, max_length=8)),
                ('resolution_kind', models.CharField(blank=True, max_length=16)),
                ('definition_version', models.PositiveIntegerField(default=1)),
                ('token_hash', models.CharField(max_length=64, unique=True)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sent', 'Sent'), ('failed', 'Failed')], default='queued', max_length=8)),
                ('error', models.TextField(blank=True)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('created_at', models.DateTimeField()),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('expires_at', models.DateTimeField()),
                ('answered_at', models.DateTimeField(blank=True, null=True)),
                ('agent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='commerce.customer')),
                ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='commerce.order')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='commerce.store')),
                ('template', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='desk.replytemplate')),
                ('ticket', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='desk.ticket')),
            ],
        ),
        migrations.CreateModel(
            name='SurveyResponse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('csat', 'Satisfaction (CSAT)'), ('nps', 'Net Promoter Score (NPS)')], max_length=8)),
                ('score', models.PositiveSmallIntegerField(verbose_name='score')),
                ('comment', models.TextField(blank=True, verbose_name='comment')),
                ('created_at', models.DateTimeField()),
                ('commented_at', models.DateTimeField(blank=True, null=True)),
                ('follow_up_ticket', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='desk.ticket')),
                ('invitation', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='response', to='experience.surveyinvitation')),
            ],
            options={
                'permissions': [('view_survey_results', 'Can view survey results')],
            },
        ),
        migrations.AddIndex(
            model_name='surveyinvitation',
            index=models.Index(fields=['kind', 'created_at'], name='survey_inv_kind_created_idx'),
        ),
        migrations.AddIndex(
            model_name='surveyinvitation',
            index=models.Index(fields=['email', '-created_at'], name='survey_inv_email_idx'),
        ),
        migrations.AddIndex(
            model_name='surveyinvitation',
            index=models.Index(condition=models.Q(('status', 'queued')), fields=['created_at'], name='survey_inv_queued_idx'),
        ),
        migrations.AddConstraint(
            model_name='surveyinvitation',
            constraint=models.UniqueConstraint(condition=models.Q(('ticket__isnull', False)), fields=('ticket',), name='survey_once_per_ticket'),
        ),
        migrations.AddIndex(
            model_name='surveyresponse',
            index=models.Index(fields=['kind', 'created_at'], name='survey_resp_kind_created_idx'),
        ),
        migrations.AddIndex(
            model_name='surveyresponse',
            index=models.Index(condition=models.Q(('comment', ''), _negated=True), fields=['-created_at'], name='survey_resp_comment_idx'),
        ),
    ]
