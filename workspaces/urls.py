from django.urls import path

from workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("workspace/members/", views.workspace_members, name="members"),
    path("workspace/settings/", views.workspace_settings, name="workspace_settings"),
    path("workspace/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("workspace/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("workspace/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
